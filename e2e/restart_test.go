package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// A clean restart (SIGTERM, then start again) must be invisible to clients
// apart from the reconnect: no recovery scan, and everything a client set up
// or wrote is still there, including what only the broker remembers — log
// start offsets after DeleteRecords and idempotent producers' sequences.

// recoveryLine matches what the storage layer logs when it scans or repairs
// a log instead of trusting its clean-shutdown state.
var recoveryLine = regexp.MustCompile(`(?i)clean=false|recover|rebuild|truncat|corrupt|discarding producer snapshot`)

func TestCleanRestartKeepsEverything(t *testing.T) {
	b := startBroker(t)
	adm := b.Admin(t)
	ctx := testContext(t, 2*time.Minute)
	const topic = "keep"
	createTopic(t, adm, topic, 2)
	alter, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("86400123")}}, topic)
	if err == nil {
		_, err = alter.On(topic, nil)
	}
	if err != nil {
		t.Fatalf("set retention.ms: %v", err)
	}

	// One franz-go producer for the whole test: it must keep producing
	// across the restart with the same producer id, epoch and sequences.
	producer := b.Client(t, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	produceRange := func(from, to int) (pid int64, epoch int16) {
		t.Helper()
		var rs []*kgo.Record
		for i := from; i < to; i++ {
			for p := int32(0); p < 2; p++ {
				rs = append(rs, &kgo.Record{Partition: p, Value: fmt.Appendf(nil, "v%d", i)})
			}
		}
		if err := producer.ProduceSync(ctx, rs...).FirstErr(); err != nil {
			t.Fatalf("produce v%d..v%d: %v", from, to-1, err)
		}
		return rs[0].ProducerID, rs[0].ProducerEpoch
	}
	pid, epoch := produceRange(0, 50)
	if pid < 0 {
		t.Fatalf("the franz-go producer is not idempotent: producer id %d", pid)
	}

	// DeleteRecords below offset 20 on partition 0.
	var trim kadm.Offsets
	trim.Add(kadm.Offset{Topic: topic, Partition: 0, At: 20})
	if resp, err := adm.DeleteRecords(ctx, trim); err != nil || resp.Error() != nil {
		t.Fatalf("DeleteRecords: %v %v", err, resp.Error())
	}

	// A hand-made idempotent producer on partition 1, so that the test can
	// resend an exact batch after the restart, as a producer does that never
	// saw its acknowledgement.
	raw := b.Client(t)
	rawPID, rawEpoch := initProducerID(t, raw)
	first := batch{producerID: rawPID, epoch: rawEpoch, sequence: 0, timestamp: time.Now().UnixMilli(), values: []string{"r0", "r1", "r2"}}
	second := batch{producerID: rawPID, epoch: rawEpoch, sequence: 3, timestamp: time.Now().UnixMilli(), values: []string{"r3", "r4"}}
	for _, bt := range []batch{first, second} {
		if r := produceBatch(t, b.Addr, topic, 1, bt); r.ErrorCode != 0 {
			t.Fatalf("raw produce seq %d: %v", bt.sequence, kerr.ErrorForCode(r.ErrorCode))
		}
	}
	secondAt := int64(50 + 3) // after the franz-go records and the first batch

	before := readAll(t, b, topic)
	startBefore, endBefore := offsets(t, adm, topic)

	b.Restart() // SIGTERM, exit status 0, start again

	// No recovery scan: the log dir and every log open clean.
	startLog := b.StartLog()
	if !strings.Contains(startLog, `msg="storage: opened log dir"`) || !strings.Contains(startLog, "clean=true") {
		t.Errorf("the start after SIGTERM did not open the log dir clean:\n%s", startLog)
	}
	for _, line := range strings.Split(startLog, "\n") {
		if strings.Contains(line, "msg=\"storage:") && recoveryLine.MatchString(line) {
			t.Errorf("recovery after a clean shutdown: %s", line)
		}
	}

	// Topics and configs.
	topics, err := adm.ListTopics(ctx, topic)
	if err != nil || topics.Error() != nil {
		t.Fatalf("list topics: %v %v", err, topics.Error())
	}
	if d, ok := topics[topic]; !ok || len(d.Partitions) != 2 {
		t.Fatalf("after the restart topic %s is %+v, want 2 partitions", topic, topics[topic])
	}
	cfgs, err := adm.DescribeTopicConfigs(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On(topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := configValue(rc, "retention.ms"); v != "86400123 (DYNAMIC_TOPIC_CONFIG)" {
		t.Errorf("retention.ms after the restart is %s, want 86400123 set on the topic", v)
	}

	// Data and log start offsets.
	startAfter, endAfter := offsets(t, adm, topic)
	if !mapsEqual(startAfter, startBefore) || !mapsEqual(endAfter, endBefore) || startAfter[0] != 20 {
		t.Errorf("offsets changed across the restart: start %v → %v, end %v → %v (partition 0 was trimmed to 20)", startBefore, startAfter, endBefore, endAfter)
	}
	after := readAll(t, b, topic)
	for p := range before {
		if !slices.Equal(values(after[p]), values(before[p])) || after[p][0].Offset != before[p][0].Offset {
			t.Errorf("partition %d changed across the restart:\nbefore %v\nafter  %v", p, values(before[p]), values(after[p]))
		}
	}

	// The resent batch is recognised as a duplicate: its original offset
	// comes back and nothing is appended.
	r := produceBatch(t, b.Addr, topic, 1, second)
	if r.ErrorCode != 0 || r.BaseOffset != secondAt {
		t.Errorf("resending sequence 3 after the restart: %v at offset %d; want no error and the original offset %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset, secondAt)
	}
	third := batch{producerID: rawPID, epoch: rawEpoch, sequence: 5, timestamp: time.Now().UnixMilli(), values: []string{"r5"}}
	if r := produceBatch(t, b.Addr, topic, 1, third); r.ErrorCode != 0 || r.BaseOffset != endBefore[1] {
		t.Errorf("the next sequence after the restart: %v at offset %d; want no error at %d", kerr.ErrorForCode(r.ErrorCode), r.BaseOffset, endBefore[1])
	}

	// The franz-go producer carries on with its id and sequences.
	pid2, epoch2 := produceRange(50, 100)
	if pid2 != pid || epoch2 != epoch {
		t.Errorf("the producer went from id %d epoch %d to id %d epoch %d: the broker lost its sequence state", pid, epoch, pid2, epoch2)
	}
	final := readAll(t, b, topic)
	want := func(p int32) []string {
		var vs []string
		for i := 0; i < 100; i++ {
			if p == 0 && i < 20 {
				continue
			}
			vs = append(vs, fmt.Sprintf("v%d", i))
			if p == 1 && i == 49 {
				vs = append(vs, "r0", "r1", "r2", "r3", "r4", "r5")
			}
		}
		return vs
	}
	for p := int32(0); p < 2; p++ {
		if got := values(final[p]); !slices.Equal(got, want(p)) {
			t.Errorf("partition %d holds\n%v\nwant\n%v", p, got, want(p))
		}
	}
}

// configValue returns a described config's value and source.
func configValue(rc kadm.ResourceConfig, name string) string {
	for _, c := range rc.Configs {
		if c.Key == name {
			return fmt.Sprintf("%s (%s)", c.MaybeValue(), c.Source)
		}
	}
	return "(absent)"
}

func mapsEqual(a, b map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
