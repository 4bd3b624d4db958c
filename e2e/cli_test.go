package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// The seed documents' command-line scenario, typed as a Kafka runbook has
// it, with the samsa binary installed under Kafka's script names.

// kafkaTools returns a directory holding the binary under Kafka's script
// names, as symlinks.
func kafkaTools(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"kafka-topics.sh", "kafka-console-producer.sh", "kafka-console-consumer.sh", "kafka-consumer-groups.sh", "kafka-server-start.sh", "kafka-server-stop.sh", "kafka-storage.sh"} {
		if err := os.Symlink(samsaBin, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var (
	describeTopicLine     = regexp.MustCompile(`^Topic: test\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: (\d+)\tReplicationFactor: 1\tConfigs: ?`)
	describePartitionLine = regexp.MustCompile(`^\tTopic: test\tPartition: (\d+)\tLeader: 1\tReplicas: 1\tIsr: 1(\t|$)`)
)

func TestSeedCLIScenario(t *testing.T) {
	b := startBroker(t)
	tools := kafkaTools(t)
	run := func(stdin, tool string, args ...string) toolResult {
		t.Helper()
		return runTool(t, 60*time.Second, stdin, filepath.Join(tools, tool), args...)
	}
	must := func(stdin, tool string, args ...string) toolResult {
		t.Helper()
		r := run(stdin, tool, args...)
		if r.Err != nil {
			t.Fatalf("%s %s:\n%s", tool, strings.Join(args, " "), r)
		}
		return r
	}
	describe := func(partitions int) {
		t.Helper()
		out := must("", "kafka-topics.sh", "--bootstrap-server", b.Addr, "--describe", "--topic", "test").Stdout
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		m := describeTopicLine.FindStringSubmatch(lines[0])
		if m == nil || m[1] != fmt.Sprint(partitions) || len(lines) != 1+partitions {
			t.Fatalf("--describe does not show %d partitions in Kafka's format:\n%s", partitions, out)
		}
		for i, l := range lines[1:] {
			if m := describePartitionLine.FindStringSubmatch(l); m == nil || m[1] != fmt.Sprint(i) {
				t.Fatalf("--describe partition line %d is not in Kafka's format: %q", i, l)
			}
		}
	}

	r := must("", "kafka-topics.sh", "--bootstrap-server", b.Addr, "--create", "--topic", "test", "--replication-factor", "1", "--partitions", "3")
	if r.Stdout != "Created topic test.\n" {
		t.Errorf("--create printed %q, want %q", r.Stdout, "Created topic test.\n")
	}

	// The seed's ZooKeeper-era commands fail with one line that says what
	// to use instead.
	for _, args := range [][]string{
		{"--zookeeper", "localhost:2181", "--list"},
		{"--create", "--zookeeper", "192.168.30.18:2181,192.168.30.19:2181", "--replication-factor", "2", "--partitions", "3", "--topic", "test"},
	} {
		r := run("", "kafka-topics.sh", args...)
		if r.Err == nil || r.Stdout != "" || strings.Count(r.Stderr, "\n") != 1 || !strings.Contains(r.Stderr, "--bootstrap-server") {
			t.Errorf("kafka-topics.sh %s: want a failure with one line naming --bootstrap-server; got\n%s", strings.Join(args, " "), r)
		}
	}

	list := func() []string {
		out := must("", "kafka-topics.sh", "--bootstrap-server", b.Addr, "--list").Stdout
		return strings.Fields(out)
	}
	if topics := list(); !slices.Contains(topics, "test") {
		t.Errorf("--list printed %q, want test among them", topics)
	}
	describe(3)
	must("", "kafka-topics.sh", "--bootstrap-server", b.Addr, "--alter", "--topic", "test", "--partitions", "6")
	describe(6)

	must("hello\nsamsa\nworld\n", "kafka-console-producer.sh", "--broker-list", b.Addr, "--topic", "test")
	r = must("", "kafka-console-consumer.sh", "--bootstrap-server", b.Addr, "--topic", "test", "--from-beginning", "--max-messages", "3")
	got := strings.Fields(r.Stdout)
	slices.Sort(got) // three lines may land on different partitions
	if !slices.Equal(got, []string{"hello", "samsa", "world"}) {
		t.Errorf("the console consumer printed %q, want the three lines produced", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "Processed a total of 3 messages") {
		t.Errorf("the console consumer's stderr lacks Kafka's summary line:\n%s", r.Stderr)
	}

	must("", "kafka-topics.sh", "--bootstrap-server", b.Addr, "--delete", "--topic", "test")
	waitUntil(t, 30*time.Second, "the deleted topic leaves --list", func() error {
		if topics := list(); slices.Contains(topics, "test") {
			return fmt.Errorf("--list still prints %q", topics)
		}
		return nil
	})
}

func TestKafkaServerStartWithOverride(t *testing.T) {
	tools := kafkaTools(t)
	start := filepath.Join(tools, "kafka-server-start.sh")
	// The file names a log dir the override must replace.
	notUsed := filepath.Join(t.TempDir(), "not-used")
	b := startBroker(t,
		withProps("log.dirs", notUsed),
		withLauncher(func(props, dataDir string) (string, []string) {
			return start, []string{props, "--override", "log.dirs=" + dataDir}
		}),
	)

	cl := b.Client(t, kgo.AllowAutoTopicCreation())
	rec := &kgo.Record{Topic: "started", Value: []byte("by kafka-server-start.sh")}
	if err := cl.ProduceSync(testContext(t, 30*time.Second), rec).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if _, err := os.Stat(filepath.Join(b.DataDir, "started-0")); err != nil {
		t.Errorf("the partition is not in the overriding log.dirs: %v", err)
	}
	if _, err := os.Stat(notUsed); err == nil {
		t.Errorf("%s was created: the file's log.dirs won over --override", notUsed)
	}
}

// kafka-configs.sh --entity-type broker-loggers changes the level of a
// running broker's log, as Kafka's does for its log4j loggers.
func TestBrokerLoggerLevelChangesAtRunTime(t *testing.T) {
	b := startBroker(t)
	configs := func(args ...string) string {
		t.Helper()
		return mustRun(t, 30*time.Second, "", samsaBin, append([]string{"kafka-configs.sh", "--bootstrap-server", b.Addr}, args...)...).Stdout
	}
	if out := configs("--describe", "--entity-type", "broker-loggers", "--entity-name", "1"); out != "Dynamic configs for broker-logger 1 are:\n  root=INFO sensitive=false synonyms={}\n" {
		t.Fatalf("describe at start: %q", out)
	}
	// "became leader" is logged at INFO: not while the level is WARN.
	configs("--alter", "--broker-logger", "1", "--add-config", "root=WARN")
	createTopic(t, b.Admin(t), "quiet", 1)
	// Written to, so the broker leads it before the level goes back.
	cl := newClient(t, kgo.SeedBrokers(b.Addr), kgo.DefaultProduceTopic("quiet"))
	if err := cl.ProduceSync(testContext(t, 30*time.Second), &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	configs("--alter", "--broker-logger", "1", "--add-config", "root=INFO")
	createTopic(t, b.Admin(t), "loud", 1)
	waitUntil(t, 30*time.Second, "the new leadership is logged", func() error {
		if !strings.Contains(b.StartLog(), `msg="became leader" node_id=1 topic=loud`) {
			return errors.New("no line yet")
		}
		return nil
	})
	if strings.Contains(b.StartLog(), "topic=quiet") {
		t.Errorf("an INFO line was logged at level WARN:\n%s", b.StartLog())
	}
	if out := configs("--describe", "--broker-logger", "1"); !strings.Contains(out, "root=INFO") {
		t.Errorf("describe after the change: %q", out)
	}
}
