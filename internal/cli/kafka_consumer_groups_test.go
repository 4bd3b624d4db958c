package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaConsumerGroups(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "t"), kfake.SeedTopics(1, "u"))
	produceLines(t, c, "t", "0", 3)
	produceLines(t, c, "t", "1", 2)
	kcg := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-consumer-groups.sh", "--bootstrap-server", c.addr}, args...)...)
	}
	member := startMember(t, c, "g", 5, []string{"t"})
	produceLines(t, c, "t", "0", 1) // lag 1 on partition 0

	t.Run("list prints one group per line", func(t *testing.T) {
		if out := kcg("--list").ok(t); out != "g\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("list with --state and --type prints Kafka's table", func(t *testing.T) {
		out := kcg("--list", "--state").ok(t)
		if out != pad("GROUP", 25)+" "+pad("STATE", 20)+"\n"+pad("g", 25)+" "+pad("Stable", 20)+"\n" {
			t.Fatalf("stdout %q", out)
		}
		matchLines(t, kcg("--list", "--type", "--state").ok(t), `^GROUP\s+TYPE\s+STATE\s*$`, `^g\s+Classic\s+Stable\s*$`)
		if got := fields(kcg("--list", "--state", "stable,Empty").ok(t)); len(got) != 2 || got[1][0] != "g" {
			t.Fatalf("got %q", got)
		}
		if got := fields(kcg("--list", "--type", "consumer").ok(t)); len(got) != 1 {
			t.Fatalf("got %q", got)
		}
		r := kcg("--list", "--state", "bad, wrong").wantCode(t, 2)
		if !strings.Contains(r.stderr, "Invalid state list 'bad, wrong'. Valid states are: PreparingRebalance, CompletingRebalance, Stable, Dead, Empty, Assigning, Reconciling") {
			t.Fatalf("stderr %q", r.stderr)
		}
		r = kcg("--list", "--type", "generic").wantCode(t, 2)
		if !strings.Contains(r.stderr, "Invalid types list 'generic'. Valid types are: Consumer, Classic, Share, Streams") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("describe prints Kafka's offsets table", func(t *testing.T) {
		r := kcg("--describe", "--group", "g")
		out := r.ok(t)
		if !strings.HasPrefix(out, "\nGROUP ") || r.stderr != "" {
			t.Fatalf("stdout %q stderr %q", out, r.stderr)
		}
		got := fields(strings.TrimSpace(out))
		if strings.Join(got[0], " ") != "GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID" {
			t.Fatalf("header %q", got[0])
		}
		if len(got) != 3 || strings.Join(got[1][:6], " ") != "g t 0 3 4 1" || got[1][8] != "tester" ||
			strings.Join(got[2][:6], " ") != "g t 1 2 2 0" {
			t.Fatalf("rows %q", got[1:])
		}
		if out := kcg("--describe", "--group", "g", "--offsets").ok(t); !strings.Contains(out, "CONSUMER-ID") {
			t.Fatalf("--offsets printed %q", out)
		}
	})

	t.Run("describe --offsets --verbose adds the leader epoch", func(t *testing.T) {
		got := fields(strings.TrimSpace(kcg("--describe", "--group", "g", "--offsets", "--verbose").ok(t)))
		if strings.Join(got[0], " ") != "GROUP TOPIC PARTITION LEADER-EPOCH CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID" {
			t.Fatalf("header %q", got[0])
		}
		if strings.Join(got[1][:7], " ") != "g t 0 0 3 4 1" {
			t.Fatalf("row %q", got[1])
		}
	})

	t.Run("describe --members", func(t *testing.T) {
		got := fields(strings.TrimSpace(kcg("--describe", "--group", "g", "--members").ok(t)))
		if strings.Join(got[0], " ") != "GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS" || len(got) != 2 ||
			got[1][0] != "g" || got[1][3] != "tester" || got[1][4] != "2" {
			t.Fatalf("got %q", got)
		}
		got = fields(strings.TrimSpace(kcg("--describe", "--group", "g", "--members", "--verbose").ok(t)))
		if strings.Join(got[0], " ") != "GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS CURRENT-EPOCH CURRENT-ASSIGNMENT TARGET-EPOCH TARGET-ASSIGNMENT" {
			t.Fatalf("header %q", got[0])
		}
		if strings.Join(got[1][4:], " ") != "2 - t:0,1 - -" {
			t.Fatalf("row %q", got[1])
		}
	})

	t.Run("describe --state", func(t *testing.T) {
		out := kcg("--describe", "--group", "g", "--state").ok(t)
		matchLines(t, out, `^GROUP\s+COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+#MEMBERS$`,
			`^g\s+127\.0\.0\.1:\d+  \(0\)\s+cooperative-sticky\s+Stable\s+1$`)
		out = kcg("--describe", "--group", "g", "--state", "--verbose").ok(t)
		matchLines(t, out, `^GROUP\s+COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+GROUP-EPOCH\s+TARGET-ASSIGNMENT-EPOCH\s+#MEMBERS$`,
			`^g\s+127\.0\.0\.1:\d+  \(0\)\s+cooperative-sticky\s+Stable\s+-\s+-\s+1$`)
	})

	t.Run("describe of a group that does not exist", func(t *testing.T) {
		r := kcg("--describe", "--group", "missing").wantCode(t, 1)
		if r.stdout != "\nError: Consumer group 'missing' does not exist.\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
	})

	t.Run("reset is refused while the group has members", func(t *testing.T) {
		r := kcg("--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--execute").wantCode(t, 1)
		if !strings.HasPrefix(r.stdout, "\nError: Assignments can only be reset if the group 'g' is inactive, but the current state is Stable.\n") {
			t.Fatalf("stdout %q", r.stdout)
		}
	})

	member.stop()
	eventually(t, "g is empty", func() bool { return strings.Contains(kcg("--list", "--state").ok(t), "Empty") })

	t.Run("describe after the member left", func(t *testing.T) {
		r := kcg("--describe", "--group", "g")
		got := fields(strings.TrimSpace(r.ok(t)))
		if r.stderr != "\nConsumer group 'g' has no active members.\n" {
			t.Fatalf("stderr %q", r.stderr)
		}
		if len(got) != 3 || strings.Join(got[1], " ") != "g t 0 3 4 1 - - -" || strings.Join(got[2], " ") != "g t 1 2 2 0 - - -" {
			t.Fatalf("got %q", got)
		}
		r = kcg("--describe", "--all-groups", "--members")
		if r.ok(t) != "\n"+pad("GROUP", 15)+" "+pad("CONSUMER-ID", 15)+" "+pad("HOST", 15)+" "+pad("CLIENT-ID", 15)+" "+pad("#PARTITIONS", 15)+" \n" {
			t.Fatalf("stdout %q", r.stdout)
		}
		matchLines(t, kcg("--describe", "--group", "g", "--state").ok(t), `^g\s+127\.0\.0\.1:\d+  \(0\)\s+Empty\s+0$`)
	})

	current := func(t *testing.T) string {
		t.Helper()
		var parts []string
		for _, f := range fields(strings.TrimSpace(kcg("--describe", "--group", "g").ok(t)))[1:] {
			parts = append(parts, f[1]+"/"+f[2]+"="+f[3])
		}
		return strings.Join(parts, " ")
	}

	t.Run("reset without --execute is a dry run", func(t *testing.T) {
		r := kcg("--reset-offsets", "--group", "g", "--all-topics", "--to-earliest")
		want := "\n" + pad("GROUP", 30) + " " + pad("TOPIC", 30) + " " + pad("PARTITION", 10) + " " + pad("NEW-OFFSET", 15) +
			"\n" + pad("g", 30) + " " + pad("t", 30) + " " + pad("0", 10) + " " + pad("0", 15) +
			"\n" + pad("g", 30) + " " + pad("t", 30) + " " + pad("1", 10) + " " + pad("0", 15) + "\n"
		if out := r.ok(t); out != want {
			t.Fatalf("stdout %q, want %q", out, want)
		}
		if !strings.HasPrefix(r.stderr, "WARN: No action will be performed as the --execute option is missing.") {
			t.Fatalf("stderr %q", r.stderr)
		}
		if got := current(t); got != "t/0=3 t/1=2" {
			t.Fatalf("offsets %s", got)
		}
		if r := kcg("--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--dry-run"); r.stderr != "" {
			t.Fatalf("--dry-run warned: %q", r.stderr)
		}
	})

	// Records of u carry their own timestamps, one minute apart from 2024-01-01.
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	produceAt(t, c, "u", base, 5)
	nowFunc = func() time.Time { return base.Add(4*time.Minute + 30*time.Second) }
	t.Cleanup(func() { nowFunc = time.Now })
	dir := t.TempDir()
	plan := filepath.Join(dir, "plan.csv")
	if err := writeFile(plan, "t,0,1\nt,1,9\n"); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"to-earliest", []string{"--all-topics", "--to-earliest"}, "t/0=0 t/1=0"},
		{"to-latest", []string{"--topic", "t", "--to-latest"}, "t/0=4 t/1=2"},
		{"to-offset on one partition", []string{"--topic", "t:0", "--to-offset", "1"}, "t/0=1 t/1=2"},
		{"shift-by", []string{"--all-topics", "--shift-by", "-1"}, "t/0=0 t/1=1"},
		{"to-offset past the end is clamped", []string{"--topic", "t:0,1", "--to-offset", "3"}, "t/0=3 t/1=2"},
		{"to-current keeps the committed offsets", []string{"--all-topics", "--to-current"}, "t/0=3 t/1=2"},
		{"from-file", []string{"--from-file", plan}, "t/0=1 t/1=2"},
		{"to-datetime", []string{"--topic", "u", "--to-datetime", "2024-01-01T00:02:00.000"}, "t/0=1 t/1=2 u/0=2"},
		{"by-duration", []string{"--topic", "u", "--by-duration", "PT1M"}, "t/0=1 t/1=2 u/0=4"},
	} {
		t.Run("reset "+tc.name, func(t *testing.T) {
			before := current(t)
			args := append([]string{"--reset-offsets", "--group", "g", "--dry-run"}, tc.args...)
			dry := fields(strings.TrimSpace(kcg(args...).ok(t)))
			if strings.Join(dry[0], " ") != "GROUP TOPIC PARTITION NEW-OFFSET" {
				t.Fatalf("dry run header %q", dry[0])
			}
			if got := current(t); got != before {
				t.Fatalf("the dry run moved the offsets from %s to %s", before, got)
			}
			args[3] = "--execute"
			exec := fields(strings.TrimSpace(kcg(args...).ok(t)))
			if !equalFields(dry, exec) {
				t.Fatalf("executed %q, planned %q", exec, dry)
			}
			if got := current(t); got != tc.want {
				t.Fatalf("offsets %s, want %s", got, tc.want)
			}
		})
	}

	t.Run("clamping warns as Kafka does", func(t *testing.T) {
		r := kcg("--reset-offsets", "--group", "g", "--topic", "t:1", "--to-offset", "7", "--dry-run")
		r.ok(t)
		if !strings.Contains(r.stderr, "WARN New offset (7) is higher than latest offset for topic partition t-1. Value will be set to 2") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("a time after every record falls back to the end", func(t *testing.T) {
		out := kcg("--reset-offsets", "--group", "g", "--topic", "u", "--to-datetime", "2030-01-01T00:00:00.000+01:00", "--dry-run").ok(t)
		matchLines(t, out, `^Warn: Partition 0 from topic u is empty\. Falling back to latest known offset\.$`, `^g\s+u\s+0\s+5\s*$`)
	})

	t.Run("export prints CSV that from-file reads back", func(t *testing.T) {
		out := kcg("--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--export", "--dry-run").ok(t)
		if out != "t,0,0\nt,1,0\nu,0,0\n\n" {
			t.Fatalf("stdout %q", out)
		}
		out = kcg("--reset-offsets", "--all-groups", "--all-topics", "--to-latest", "--export", "--dry-run").ok(t)
		if out != "g,t,0,4\ng,t,1,2\ng,u,0,5\n\n" {
			t.Fatalf("stdout %q", out)
		}
		if err := writeFile(plan, out); err != nil {
			t.Fatal(err)
		}
		kcg("--reset-offsets", "--group", "g", "--group", "h", "--from-file", plan, "--execute").wantCode(t, 1)
		if got := current(t); got != "t/0=4 t/1=2 u/0=5" {
			t.Fatalf("offsets %s", got)
		}
	})

	t.Run("reset of a partition without a commit or a topic that does not exist", func(t *testing.T) {
		c.run("", "samsa", "group", "offset-delete", "g", "--topic", "u").ok(t)
		r := kcg("--reset-offsets", "--group", "g", "--topic", "u", "--shift-by", "1", "--dry-run").wantCode(t, 2)
		if !strings.Contains(r.stderr, "Cannot shift offset for partition u-0 since there is no current committed offset") {
			t.Fatalf("stderr %q", r.stderr)
		}
		r = kcg("--reset-offsets", "--group", "g", "--topic", "ghost", "--to-earliest", "--dry-run").wantCode(t, 1)
		if r.stdout != "\nError: Executing consumer group command failed due to org.apache.kafka.common.errors.UnknownTopicOrPartitionException: This server does not host this topic-partition.\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
		kcg("--reset-offsets", "--group", "g", "--topic", "u", "--to-latest", "--execute").ok(t)
	})

	t.Run("delete-offsets", func(t *testing.T) {
		r := kcg("--delete-offsets", "--group", "g", "--topic", "u", "--topic", "t:1")
		want := "Request succeed for deleting offsets with topic u, t:1 group g\n" +
			"\n" + pad("TOPIC", 30) + " " + pad("PARTITION", 15) + " " + pad("STATUS", 15) +
			"\n" + pad("t", 30) + " " + pad("1", 15) + " " + pad("Successful", 15) +
			"\n" + pad("u", 30) + " " + pad("0", 15) + " " + pad("Successful", 15) + "\n"
		if out := r.ok(t); out != want {
			t.Fatalf("stdout %q, want %q", out, want)
		}
		if got := current(t); got != "t/0=4" {
			t.Fatalf("offsets %s", got)
		}
		r = kcg("--delete-offsets", "--group", "g", "--topic", "ghost").wantCode(t, 1)
		matchLines(t, r.stdout, `^ghost\s+Not Provided\s+Error: :org\.apache\.kafka\.common\.errors\.UnknownTopicOrPartitionException: This server does not host this topic-partition\.$`)
		r = kcg("--delete-offsets", "--group", "nobody", "--topic", "t").wantCode(t, 1)
		if !strings.HasPrefix(r.stdout, "\nError: 'nobody' does not exist.\n") {
			t.Fatalf("stdout %q", r.stdout)
		}
	})

	t.Run("delete", func(t *testing.T) {
		r := kcg("--delete", "--group", "g", "--group", "missing").wantCode(t, 1)
		want := "\nError: Deletion of some consumer groups failed:\n" +
			"* Group 'missing' could not be deleted due to: java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.GroupIdNotFoundException: The group id does not exist.\n" +
			"\nThese consumer groups were deleted successfully: 'g'\n"
		if r.stdout != want {
			t.Fatalf("stdout %q", r.stdout)
		}
		c.run("", "samsa", "group", "seek", "h", "--to", "start", "--topics", "t").ok(t)
		if out := kcg("--delete", "--all-groups").ok(t); out != "Deletion of requested consumer groups ('h') was successful.\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("Kafka's option checks", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"--group", "g"}, "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets"},
			{[]string{"--list", "--describe", "--group", "g"}, `Option "[group]" can't be used with option "[list]"`},
			{[]string{"--describe"}, "Option [describe] takes one of these options: [group], [all-groups]"},
			{[]string{"--describe", "--group", "g", "--members", "--state"}, "Option [describe] takes at most one of these options: [members], [offsets], [state]"},
			{[]string{"--describe", "--all-groups", "--state", "Stable"}, "Option [describe] does not take a value for [state]"},
			{[]string{"--delete", "--group", "g", "--topic", "t"}, "The consumer does not support topic-specific offset deletion from a consumer group."},
			{[]string{"--delete-offsets", "--group", "g"}, "Option [delete-offsets] takes the following options: [group], [topic]"},
			{[]string{"--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--dry-run", "--execute"}, "Option [reset-offsets] only accepts one of [execute] and [dry-run]"},
			{[]string{"--reset-offsets", "--group", "g", "--all-topics", "--to-earliest", "--to-latest"}, `Option "[to-earliest]" can't be used with option "[to-latest]"`},
			{[]string{"--reset-offsets", "--group", "g", "--all-topics"}, "Option '[reset-offsets]' requires one of the following scenarios:"},
			{[]string{"--reset-offsets", "--group", "g", "--to-earliest"}, "One of the reset scopes should be defined: --all-topics, --topic."},
			{[]string{"--reset-offsets", "--group", "g", "--all-topics", "--by-duration", "1h"}, "Text cannot be parsed to a Duration"},
			{[]string{"--reset-offsets", "--group", "g", "--all-topics", "--to-datetime", "2024-01-01"}, "It does not contain a 'T' according to ISO8601 format"},
			{[]string{"--reset-offsets", "--group", "g", "--topic", "t:x", "--to-earliest"}, "Invalid partition 'x' specified in topic arg 't:x''"},
			{[]string{"--members", "--list"}, "Option(s) [members] are unavailable given other options on the command line"},
			{[]string{"--list", "--zookeeper", "zk:2181"}, "--bootstrap-server"},
		} {
			r := kcg(tc.args...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.msg)
			}
		}
	})
}

func TestKafkaConsumerGroupsWithConsoleConsumer(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "t"))
	produceLines(t, c, "t", "0", 3)
	c.run("", "kafka-console-consumer.sh", "--bootstrap-server", c.addr, "--topic", "t", "--group", "console",
		"--from-beginning", "--max-messages", "2").ok(t)
	got := fields(strings.TrimSpace(c.run("", "kafka-consumer-groups.sh", "--bootstrap-server", c.addr, "--describe", "--group", "console").ok(t)))
	if len(got) != 2 || strings.Join(got[1], " ") != "console t 0 2 3 1 - - -" {
		t.Fatalf("got %q", got)
	}
}

// produceAt writes n records to partition 0 of topic, the i-th stamped
// start + i minutes.
func produceAt(t *testing.T, c *cluster, topic string, start time.Time, n int) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		r := &kgo.Record{Topic: topic, Partition: 0, Value: []byte("v"), Timestamp: start.Add(time.Duration(i) * time.Minute)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}
