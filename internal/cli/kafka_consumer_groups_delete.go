package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// kafka_consumer_groups_delete.go is kafka-consumer-groups.sh --delete and
// --delete-offsets, and the Java exception names the tool's messages carry:
//
//	Deletion of requested consumer groups ('g1, g2') was successful.
//	* Group 'g' could not be deleted due to: java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.GroupNotEmptyException: The group is not empty.
//	Request succeed for deleting offsets with topic t1, t2:0 group g
//
// followed for --delete-offsets by a TOPIC PARTITION STATUS table.

// delete ports ConsumerGroupService.deleteGroups: every selected group,
// each reported on its own.
func (o *groupsOpts) delete(ctx context.Context, e *env) (bool, error) {
	groups, err := o.selectedGroups(ctx)
	if err != nil {
		return false, err
	}
	tctx, cancel := o.timed(ctx)
	defer cancel()
	resps, err := o.adm.DeleteGroups(tctx, groups...)
	if err != nil && len(resps) == 0 && len(groups) > 0 {
		return false, err
	}
	var deleted, failed []string
	for _, g := range groups {
		if r, ok := resps[g]; ok && r.Err == nil {
			deleted = append(deleted, g)
		} else {
			failed = append(failed, g)
		}
	}
	if len(failed) == 0 {
		fmt.Fprintf(e.stdout, "Deletion of requested consumer groups ('%s') was successful.\n", strings.Join(deleted, ", "))
		return true, nil
	}
	printKafkaError(e, "Deletion of some consumer groups failed:")
	for _, g := range failed {
		why := "no response from the coordinator"
		if r, ok := resps[g]; ok {
			why = "java.util.concurrent.ExecutionException: " + javaErr(r.Err)
		} else if err != nil {
			why = javaErr(err)
		}
		fmt.Fprintf(e.stdout, "* Group '%s' could not be deleted due to: %s\n", g, why)
	}
	if len(deleted) > 0 {
		fmt.Fprintf(e.stdout, "\nThese consumer groups were deleted successfully: '%s'\n", strings.Join(deleted, "', '"))
	}
	return false, nil
}

// deleteOffsets ports ConsumerGroupService.deleteOffsets: the first
// --group's offsets of the --topic partitions, a group-level verdict,
// then a row per partition.
func (o *groupsOpts) deleteOffsets(ctx context.Context, e *env) (bool, error) {
	group := (*o.groups)[0]
	ctx, cancel := o.timed(ctx)
	defer cancel()
	tps, missing, err := topicPartitions(ctx, o.adm, *o.topics)
	if err != nil {
		return false, err
	}
	set := kadm.TopicsSet{}
	for _, tp := range tps {
		set.Add(tp.topic, tp.partition)
	}
	resps, groupErr := o.adm.DeleteOffsets(ctx, group, set)
	topErr := groupErr
	if topErr == nil {
		for _, tp := range tps {
			if err, _ := resps.Lookup(tp.topic, tp.partition); err != nil {
				topErr = err
				break
			}
		}
	}
	var ke *kerr.Error
	errors.As(topErr, &ke)
	switch {
	case topErr == nil:
		fmt.Fprintf(e.stdout, "Request succeed for deleting offsets with topic %s group %s\n", strings.Join(*o.topics, ", "), group)
	case ke == kerr.InvalidGroupID:
		printKafkaError(e, fmt.Sprintf("'%s' is not valid.", group))
	case ke == kerr.GroupIDNotFound:
		printKafkaError(e, fmt.Sprintf("'%s' does not exist.", group))
	case ke == kerr.GroupAuthorizationFailed:
		printKafkaError(e, fmt.Sprintf("Access to '%s' is not authorized.", group))
	case ke == kerr.NonEmptyGroup:
		printKafkaError(e, fmt.Sprintf("Deleting offsets of a consumer group '%s' is forbidden if the group is not empty.", group))
	case ke == kerr.GroupSubscribedToTopic, ke == kerr.TopicAuthorizationFailed, ke == kerr.UnknownTopicOrPartition:
		printKafkaError(e, "Encounter some partition level error, see the follow-up details:")
	case ke != nil:
		printKafkaError(e, "Encounter some unknown error: "+ke.Message)
	default:
		printKafkaError(e, "Encounter some unknown error: "+topErr.Error())
	}
	type result struct {
		tp  topicPartition
		err error
	}
	var results []result
	for t, err := range missing {
		results = append(results, result{topicPartition{t, -1}, err})
	}
	for _, tp := range tps {
		err := groupErr
		if err == nil {
			err, _ = resps.Lookup(tp.topic, tp.partition)
		}
		results = append(results, result{tp, err})
	}
	slices.SortFunc(results, func(a, b result) int { return compareTP(a.tp, b.tp) })
	format := "\n%-30s %-15s %-15s"
	fmt.Fprintf(e.stdout, format, "TOPIC", "PARTITION", "STATUS")
	ok := topErr == nil
	for _, r := range results {
		partition, status := fmt.Sprint(r.tp.partition), "Successful"
		if r.tp.partition < 0 {
			partition = "Not Provided"
		}
		if r.err != nil {
			status, ok = "Error: :"+javaErr(r.err), false
		}
		fmt.Fprintf(e.stdout, format, r.tp.topic, partition, status)
	}
	fmt.Fprintln(e.stdout)
	return ok, nil
}
