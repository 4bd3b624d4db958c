package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/twmb/franz-go/pkg/kadm"
)

// topic_describe.go is `samsa topic describe`: per topic a summary, its
// configs (KEY VALUE SOURCE) and its partitions (PARTITION LEADER EPOCH
// REPLICAS ISR LOG-START-OFFSET HIGH-WATERMARK), as text sections or JSON.

// topicDescription is one topic as `samsa topic describe --format json`
// prints it.
type topicDescription struct {
	Name              string               `json:"name"`
	ID                string               `json:"id,omitempty"`
	Internal          bool                 `json:"internal"`
	Partitions        int                  `json:"partitions"`
	ReplicationFactor int                  `json:"replication_factor"`
	Configs           []describedConfig    `json:"configs,omitempty"`
	PartitionDetails  []describedPartition `json:"partition_details,omitempty"`
	Error             string               `json:"error,omitempty"`
	configsErr        string               // why Configs is empty, for the CONFIGS section
}

type describedConfig struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

type describedPartition struct {
	Partition      int32   `json:"partition"`
	Leader         int32   `json:"leader"`
	Epoch          int32   `json:"epoch"`
	Replicas       []int32 `json:"replicas"`
	ISR            []int32 `json:"isr"`
	LogStartOffset int64   `json:"log_start_offset"`
	HighWatermark  int64   `json:"high_watermark"`
	Error          string  `json:"error,omitempty"`
}

func topicDescribe(ctx context.Context, e *env, args []string) int {
	f := newFlagSet("samsa topic describe TOPIC... [flags]",
		"Describe topics. Without -p or -c all three sections are printed: summary, configs and partitions.")
	f.TopicArgs()
	conn := addConnFlags(f)
	printParts := f.Bool("print-partitions,p", "print only the partitions section")
	printConfigs := f.Bool("print-configs,c", "print only the configs section")
	format := formatFlag(f)
	if code, ok := e.parse(f, args); !ok {
		return code
	}
	if err := checkFormat(*format); err != nil {
		return e.usageFail(f, err)
	}
	if len(f.Args()) == 0 {
		return e.usageFail(f, usagef("name at least one topic"))
	}
	all := !*printParts && !*printConfigs
	cl, err := conn.client(e, roleAdmin)
	if err != nil {
		return e.fail(err)
	}
	adm := kadm.NewClient(cl)
	defer adm.Close()

	descs, err := describeTopics(ctx, e, adm, f.Args(), all || *printConfigs, all || *printParts)
	if err != nil {
		return e.fail(err)
	}
	failed := false
	for _, d := range descs {
		failed = failed || d.Error != ""
	}
	if *format == "json" {
		if err := writeJSON(e.stdout, descs); err != nil {
			return e.fail(err)
		}
		return exitFor(!failed)
	}
	headed := all || len(descs) > 1 || (*printParts && *printConfigs)
	for i, d := range descs {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		if d.Error != "" {
			fmt.Fprintf(e.stderr, "%s: %s: %s\n", e.prog, d.Name, d.Error)
			continue
		}
		if all || headed {
			printSummary(e.stdout, d, headed)
		}
		if all || *printConfigs {
			printConfigsSection(e.stdout, d, headed)
		}
		if all || *printParts {
			printPartitionsSection(e.stdout, d, headed)
		}
	}
	return exitFor(!failed)
}

// describeTopics gathers what describe prints for each named topic, in the
// order given.
func describeTopics(ctx context.Context, e *env, adm *kadm.Client, topics []string, withConfigs, withPartitions bool) ([]topicDescription, error) {
	md, err := adm.Metadata(ctx, topics...)
	if err != nil {
		return nil, err
	}
	var cfgs kadm.ResourceConfigs
	if withConfigs {
		if cfgs, err = adm.DescribeTopicConfigs(ctx, topics...); err != nil {
			return nil, err
		}
	}
	var starts, ends kadm.ListedOffsets
	if withPartitions {
		// Offsets are best effort: a partition without a leader has none.
		starts, _ = adm.ListStartOffsets(ctx, topics...)
		ends, _ = adm.ListEndOffsets(ctx, topics...)
	}
	out := make([]topicDescription, 0, len(topics))
	for _, name := range topics {
		td, ok := md.Topics[name]
		d := topicDescription{Name: name}
		switch {
		case !ok:
			d.Error = "UNKNOWN_TOPIC_OR_PARTITION: This server does not host this topic-partition."
		case td.Err != nil:
			d.Error = kafkaErrText(td.Err, "")
		}
		if d.Error != "" {
			out = append(out, d)
			continue
		}
		d.ID = kafkaUUID(td.ID)
		d.Internal = td.IsInternal || isInternalTopic(name)
		d.Partitions = len(td.Partitions)
		d.ReplicationFactor = replicationFactor(td)
		if withConfigs {
			d.Configs = []describedConfig{}
			if rc, err := cfgs.On(name, nil); err != nil {
				d.configsErr = kafkaErrText(err, "")
			} else if rc.Err != nil {
				d.configsErr = kafkaErrText(rc.Err, rc.ErrMessage)
			} else {
				for _, c := range rc.Configs {
					d.Configs = append(d.Configs, describedConfig{c.Key, c.MaybeValue(), c.Source.String()})
				}
				slices.SortFunc(d.Configs, func(a, b describedConfig) int { return strings.Compare(a.Key, b.Key) })
			}
		}
		if withPartitions {
			d.PartitionDetails = []describedPartition{}
			for _, p := range td.Partitions.Sorted() {
				dp := describedPartition{
					Partition: p.Partition, Leader: p.Leader, Epoch: p.LeaderEpoch,
					Replicas: orEmpty(p.Replicas), ISR: orEmpty(p.ISR),
					LogStartOffset: -1, HighWatermark: -1,
				}
				if p.Err != nil {
					dp.Error = kafkaErrText(p.Err, "")
				}
				if o, ok := starts.Lookup(name, p.Partition); ok && o.Err == nil {
					dp.LogStartOffset = o.Offset
				}
				if o, ok := ends.Lookup(name, p.Partition); ok && o.Err == nil {
					dp.HighWatermark = o.Offset
				}
				d.PartitionDetails = append(d.PartitionDetails, dp)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

func orEmpty(s []int32) []int32 {
	if s == nil {
		return []int32{}
	}
	return s
}

func printSummary(w io.Writer, d topicDescription, headed bool) {
	if headed {
		section(w, "SUMMARY")
	}
	t := newTable(w)
	t.row("NAME", d.Name)
	t.row("ID", d.ID)
	t.row("INTERNAL", d.Internal)
	t.row("PARTITIONS", d.Partitions)
	t.row("REPLICAS", d.ReplicationFactor)
	t.flush()
	if headed {
		fmt.Fprintln(w)
	}
}

func printConfigsSection(w io.Writer, d topicDescription, headed bool) {
	if headed {
		section(w, "CONFIGS")
	}
	if d.configsErr != "" {
		fmt.Fprintln(w, d.configsErr)
	} else {
		t := newTable(w, "KEY", "VALUE", "SOURCE")
		for _, c := range d.Configs {
			t.row(c.Key, c.Value, c.Source)
		}
		t.flush()
	}
	if headed {
		fmt.Fprintln(w)
	}
}

func printPartitionsSection(w io.Writer, d topicDescription, headed bool) {
	if headed {
		section(w, "PARTITIONS")
	}
	t := newTable(w, "PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "LOG-START-OFFSET", "HIGH-WATERMARK")
	for _, p := range d.PartitionDetails {
		t.row(p.Partition, p.Leader, p.Epoch, int32List(p.Replicas), int32List(p.ISR),
			offsetText(p.LogStartOffset), offsetText(p.HighWatermark))
	}
	t.flush()
}

// offsetText prints -1 (unknown) as "-".
func offsetText(o int64) string {
	if o < 0 {
		return "-"
	}
	return fmt.Sprint(o)
}
