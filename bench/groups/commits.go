package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// commitTopicPartitions is how many partitions the committed-to topic has;
// request i of a worker commits partition i mod this.
const commitTopicPartitions = 64

// offsetsPartition is the __consumer_offsets partition, and so the
// coordinator, of a group: Java's String.hashCode of the name, made
// non-negative as Kafka's Utils.abs does (MinInt32 becomes 0), modulo the
// partition count.
func offsetsPartition(group string, partitions int32) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(group)) {
		h = 31*h + int32(u)
	}
	if h == math.MinInt32 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % partitions
}

// groupsOnOnePartition returns n group names that all hash to the same
// __consumer_offsets partition, and that partition.
func groupsOnOnePartition(prefix string, n int, partitions int32) ([]string, int32) {
	target := offsetsPartition(prefix+"-0", partitions)
	var out []string
	for i := 0; len(out) < n; i++ {
		if g := fmt.Sprintf("%s-%d", prefix, i); offsetsPartition(g, partitions) == target {
			out = append(out, g)
		}
	}
	return out, target
}

// groupsOnEveryPartition returns max(n, partitions) group names spread
// round-robin over the __consumer_offsets partitions, so that each has one
// before any has two.
func groupsOnEveryPartition(prefix string, n int, partitions int32) []string {
	n = max(n, int(partitions))
	each := (n + int(partitions) - 1) / int(partitions)
	byPartition := make([][]string, partitions)
	full := 0
	for i := 0; full < int(partitions); i++ {
		g := fmt.Sprintf("%s-%d", prefix, i)
		p := offsetsPartition(g, partitions)
		if len(byPartition[p]) < each {
			if byPartition[p] = append(byPartition[p], g); len(byPartition[p]) == each {
				full++
			}
		}
	}
	var out []string
	for k := 0; len(out) < n; k++ {
		for p := 0; p < int(partitions) && len(out) < n; p++ {
			out = append(out, byPartition[p][k])
		}
	}
	return out
}

func benchCommits(ctx context.Context, c config) error {
	topic := "commits-" + c.suffix
	topicID, err := createTopic(ctx, c, topic, commitTopicPartitions)
	if err != nil {
		return err
	}
	one, p := groupsOnOnePartition("commits-one-"+c.suffix, c.groups, c.offsetsTopicPs)
	every := groupsOnEveryPartition("commits-every-"+c.suffix, c.groups, c.offsetsTopicPs)
	for _, s := range []struct {
		name, about string
		groups      []string
	}{
		{"one_partition", fmt.Sprintf("%d groups on __consumer_offsets partition %d", len(one), p), one},
		{"every_partition", fmt.Sprintf("%d groups spread over all %d __consumer_offsets partitions", len(every), c.offsetsTopicPs), every},
	} {
		fmt.Printf("commits, %s: %d connections x %d in flight, one partition per OffsetCommit, %v after %v of warm-up\n",
			s.about, c.conns, c.inflight, c.duration, c.warmup)
		r, err := commitLoad(ctx, c, topic, topicID, s.groups)
		if err != nil {
			return err
		}
		rate := float64(len(r.latencies)) / c.duration.Seconds()
		verdict := "ok"
		if rate < 20000 {
			verdict = "MISSED"
		}
		errs := "none"
		if len(r.errors) > 0 {
			errs = fmt.Sprint(r.errors)
		}
		fmt.Printf("  %.0f commits/s (target >= 20000/s: %s), p50 %.2f ms, p99 %.2f ms, errors: %s\n",
			rate, verdict, ms(percentile(r.latencies, 50)), ms(percentile(r.latencies, 99)), errs)
		result("commits."+s.name+".per_sec", rate, "commits/s")
		result("commits."+s.name+".p50_ms", ms(percentile(r.latencies, 50)), "ms")
		result("commits."+s.name+".p99_ms", ms(percentile(r.latencies, 99)), "ms")
	}
	return nil
}

// commitResult is what one scenario measured.
type commitResult struct {
	latencies []time.Duration // of the commits that started in the window and succeeded
	errors    map[string]int  // error name → count, over the whole run
}

// commitLoad runs the workers through the warm-up and the measured window.
func commitLoad(ctx context.Context, c config, topic string, topicID [16]byte, groups []string) (commitResult, error) {
	clients := make([]*kgo.Client, c.conns)
	defer func() {
		for _, cl := range clients {
			if cl != nil {
				cl.Close()
			}
		}
	}()
	for i := range clients {
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.brokers...))
		if err != nil {
			return commitResult{}, err
		}
		clients[i] = cl // connects, and finds coordinators, in the warm-up
	}

	start := time.Now()
	from, to := start.Add(c.warmup), start.Add(c.warmup+c.duration)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		res = commitResult{errors: map[string]int{}}
	)
	for w := range c.conns * c.inflight {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cl, group := clients[w%c.conns], groups[w%len(groups)]
			var lat []time.Duration
			errs := map[string]int{}
			for i := int64(0); ; i++ {
				t0 := time.Now()
				if t0.After(to) || ctx.Err() != nil {
					break
				}
				partition := int32((int64(w) + i) % commitTopicPartitions)
				code, err := commit(ctx, cl, group, topic, topicID, partition, i)
				d := time.Since(t0)
				switch {
				case err != nil:
					errs[err.Error()]++
				case code != 0:
					errs[kerr.ErrorForCode(code).Error()]++
				case !t0.Before(from):
					lat = append(lat, d)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			for e, n := range errs {
				res.errors[e] += n
			}
		}()
	}
	wg.Wait()
	return res, ctx.Err()
}

// commit sends one OffsetCommit of one partition as a member of no
// generation (as admin tools and simple consumers commit), and returns the
// partition's error code. The topic goes by name and id: versions from 10
// (KIP-848) carry the id only.
func commit(ctx context.Context, cl *kgo.Client, group, topic string, topicID [16]byte, partition int32, offset int64) (int16, error) {
	req := kmsg.NewPtrOffsetCommitRequest()
	req.Group = group
	req.Generation = -1
	rt := kmsg.NewOffsetCommitRequestTopic()
	rt.Topic, rt.TopicID = topic, topicID
	rp := kmsg.NewOffsetCommitRequestTopicPartition()
	rp.Partition = partition
	rp.Offset = offset
	rp.LeaderEpoch = -1
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		return 0, fmt.Errorf("a response for %d topics", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0].ErrorCode, nil
}

// percentile returns the p-th percentile (nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}
