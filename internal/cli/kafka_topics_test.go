package cli

import (
	"regexp"
	"strings"
	"testing"
)

func TestKafkaTopics(t *testing.T) {
	c := newCluster(t)
	bs := []string{"--bootstrap-server", c.addr}
	kt := func(args ...string) result {
		t.Helper()
		return c.run("", append(append([]string{"kafka-topics.sh"}, args...), bs...)...)
	}

	t.Run("create prints Created topic", func(t *testing.T) {
		r := kt("--create", "--topic", "test", "--replication-factor", "1", "--partitions", "3")
		if out := r.ok(t); out != "Created topic test.\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("a replication factor above the broker count fails as in Kafka", func(t *testing.T) {
		r := kt("--create", "--topic", "test3", "--replication-factor", "3", "--partitions", "3").wantCode(t, 1)
		if r.stdout != "Error while executing topic command : Replication factor: 3 larger than available brokers: 1.\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
	})

	t.Run("creating an existing topic fails unless --if-not-exists", func(t *testing.T) {
		r := kt("--create", "--topic", "test").wantCode(t, 1)
		if r.stdout != "Error while executing topic command : Topic 'test' already exists.\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
		if out := kt("--create", "--topic", "test", "--if-not-exists").ok(t); out != "" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("create with configs and a replica assignment", func(t *testing.T) {
		out := kt("--create", "--topic", "compacted_topic", "--config", "cleanup.policy=compact", "--config", "retention.ms = 5000").ok(t)
		if !strings.HasPrefix(out, "WARNING: Due to limitations in metric names") || !strings.HasSuffix(out, "Created topic compacted_topic.\n") {
			t.Fatalf("stdout %q", out)
		}
		kt("--create", "--topic", "placed", "--replica-assignment", "0,0").ok(t)
	})

	t.Run("list prints one name per line", func(t *testing.T) {
		if out := kt("--list").ok(t); out != "compacted_topic\nplaced\ntest\n" {
			t.Fatalf("stdout %q", out)
		}
		if out := kt("--list", "--topic", "te.*").ok(t); out != "test\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("describe prints Kafka's lines exactly", func(t *testing.T) {
		out := kt("--describe", "--topic", "test").ok(t)
		matchLines(t, out,
			`^Topic: test\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: $`,
			`^\tTopic: test\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: $`,
			`^\tTopic: test\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: $`,
			`^\tTopic: test\tPartition: 2\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: \tLastKnownElr: $`)
		if n := len(lines(out)); n != 4 {
			t.Fatalf("%d lines:\n%s", n, out)
		}
	})

	t.Run("describe by topic id has no eligible leader replicas to show", func(t *testing.T) {
		id := regexp.MustCompile(`TopicId: (\S+)`).FindStringSubmatch(kt("--describe", "--topic", "test").ok(t))[1]
		out := kt("--describe", "--topic-id", id).ok(t)
		matchLines(t, out,
			`^Topic: test\tTopicId: `+id+`\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: $`,
			`^\tTopic: test\tPartition: 0\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: N/A\tLastKnownElr: N/A$`,
			`^\tTopic: test\tPartition: 1\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: N/A\tLastKnownElr: N/A$`,
			`^\tTopic: test\tPartition: 2\tLeader: 0\tReplicas: 0\tIsr: 0\tElr: N/A\tLastKnownElr: N/A$`)
	})

	t.Run("describe lists overridden configs", func(t *testing.T) {
		out := kt("--describe", "--topic", "compacted_topic").ok(t)
		matchLines(t, out, `^Topic: compacted_topic\t.*\tConfigs: (cleanup\.policy=compact,retention\.ms=5000|retention\.ms=5000,cleanup\.policy=compact)$`)
	})

	t.Run("describe without --topic covers every topic", func(t *testing.T) {
		out := kt("--describe").ok(t)
		matchLines(t, out, `^Topic: compacted_topic\t`, `^Topic: placed\t.*PartitionCount: 2\t`, `^Topic: test\t`)
	})

	t.Run("report filters", func(t *testing.T) {
		if out := kt("--describe", "--under-replicated-partitions").ok(t); out != "" {
			t.Fatalf("under-replicated: %q", out)
		}
		out := kt("--describe", "--topic", "test", "--at-min-isr-partitions").ok(t)
		if n := len(lines(out)); n != 3 || strings.HasPrefix(out, "Topic:") {
			t.Fatalf("at-min-isr: %q", out)
		}
		out = kt("--describe", "--topics-with-overrides").ok(t)
		if len(lines(out)) != 1 || !strings.HasPrefix(out, "Topic: compacted_topic\t") {
			t.Fatalf("topics-with-overrides: %q", out)
		}
	})

	t.Run("alter adds partitions silently", func(t *testing.T) {
		if out := kt("--alter", "--topic", "test", "--partitions", "6").ok(t); out != "" {
			t.Fatalf("stdout %q", out)
		}
		matchLines(t, kt("--describe", "--topic", "test").ok(t), `\tPartitionCount: 6\t`, `\tPartition: 5\t`)
	})

	t.Run("alter cannot shrink", func(t *testing.T) {
		r := kt("--alter", "--topic", "test", "--partitions", "2").wantCode(t, 1)
		if r.stdout != "Error while executing topic command : Topic currently has 6 partitions, which is higher than the requested 2.\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
	})

	t.Run("delete is silent and the topic is gone", func(t *testing.T) {
		if out := kt("--delete", "--topic", "test").ok(t); out != "" {
			t.Fatalf("stdout %q", out)
		}
		r := kt("--describe", "--topic", "test").wantCode(t, 1)
		if r.stdout != "Error while executing topic command : Topic 'test' does not exist as expected\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
		kt("--delete", "--topic", "test", "--if-exists").ok(t)
		kt("--describe", "--topic", "test", "--if-exists").ok(t)
	})

	t.Run("--zookeeper gets one line naming --bootstrap-server", func(t *testing.T) {
		r := c.run("", "kafka-topics.sh", "--zookeeper", "localhost:2181", "--list").wantCode(t, 2)
		if len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, "--bootstrap-server") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("usage errors exit 2", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{nil, "Create, delete, describe, or change a topic."},
			{[]string{"--topic", "x"}, "Command must include exactly one action"},
			{[]string{"--list", "--create"}, "Command must include exactly one action"},
			{[]string{"--create"}, `Missing required argument "[topic]"`},
			{[]string{"--alter", "--topic", "x"}, `Missing required argument "[partitions]"`},
			{[]string{"--alter", "--topic", "x", "--partitions", "3", "--replication-factor", "2"}, `Option "[replication-factor]" can't be used with option "[alter]"`},
			{[]string{"--create", "--topic", "x", "--replica-assignment", "0", "--partitions", "2"}, `Option "[replica-assignment]" can't be used with option "[partitions]"`},
		} {
			r := c.run("", append([]string{"kafka-topics.sh"}, tc.args...)...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.msg)
			}
		}
	})

	t.Run("bad values are Kafka's IllegalArgument errors, printed as TopicCommand prints every error", func(t *testing.T) {
		r := kt("--create", "--topic", "x", "--partitions", "0").wantCode(t, 1)
		if r.stdout != "Error while executing topic command : The partitions must be greater than 0\n" {
			t.Fatalf("stdout %q", r.stdout)
		}
		r = kt("--create", "--topic", "x", "--config", "retention.ms").wantCode(t, 1)
		if !strings.Contains(r.stdout, `all configs to be added must be in the format "key=val"`) {
			t.Fatalf("stdout %q", r.stdout)
		}
	})
}

func TestPersonalityDispatch(t *testing.T) {
	c := newCluster(t)
	for _, argv := range [][]string{
		{"kafka-topics.sh"},
		{"/opt/kafka/bin/kafka-topics.sh"},
		{"kafka-topics"},
		{"samsa", "kafka-topics.sh"},
		{"/usr/bin/samsa", "kafka-topics"},
	} {
		args := append(argv, "--create", "--topic", "t"+strings.NewReplacer("/", "", ".", "", "-", "").Replace(strings.Join(argv, "")), "--bootstrap-server", c.addr)
		if out := c.run("", args...).ok(t); !strings.HasPrefix(out, "Created topic ") {
			t.Fatalf("%v: %q", argv, out)
		}
	}
	if r := c.run("", "samsa", "no-such-command").wantCode(t, 2); !strings.Contains(r.stderr, "unknown command") {
		t.Fatalf("stderr %q", r.stderr)
	}
	if out := c.run("", "samsa", "version").ok(t); !strings.HasPrefix(out, "samsa ") {
		t.Fatalf("version %q", out)
	}
	if out := c.run("", "kafka-topics.sh", "--version").ok(t); !strings.Contains(out, "samsa") {
		t.Fatalf("--version %q", out)
	}
	if out := c.run("", "samsa", "help", "topic").ok(t); !strings.Contains(out, "Usage: samsa topic COMMAND") {
		t.Fatalf("help topic %q", out)
	}
}

func TestZookeeperFlagPointsToBootstrapServer(t *testing.T) {
	for _, args := range [][]string{
		{"kafka-topics.sh", "--zookeeper", "zk:2181", "--describe", "--topic", "test"},
		{"kafka-topics.sh", "--create", "--zookeeper=zk:2181", "--topic", "test", "--partitions", "3", "--replication-factor", "3"},
		{"kafka-console-producer.sh", "--zookeeper", "zk:2181", "--topic", "test"},
		{"kafka-consumer-perf-test.sh", "--zookeeper", "zk:2181", "--topic", "t", "--messages", "1"},
		{"kafka-configs.sh", "--zookeeper", "zk:2181", "--describe", "--entity-type", "topics"},
		{"samsa", "topic", "list", "--zookeeper", "zk:2181"},
	} {
		r := runMain(t, "127.0.0.1:1", false, "", args...)
		want := "--bootstrap-server"
		if args[0] == "samsa" {
			want = "--brokers"
		}
		if r.code != 2 || len(lines(r.stderr)) != 1 || !strings.Contains(r.stderr, want) || r.stdout != "" {
			t.Fatalf("%v: code %d stdout %q stderr %q", args, r.code, r.stdout, r.stderr)
		}
	}
}
