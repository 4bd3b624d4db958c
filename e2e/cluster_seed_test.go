package e2e

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The seed documents' three-broker scenario, from the repository's example
// configurations (examples/cluster/one-host): three nodes on localhost
// ports 9092–9094 (controllers on 19092–19094), a topic with three
// partitions of three replicas each, and Kafka's console tools talking to
// different nodes. The ports are fixed, so the test is skipped when one is
// taken (failed with SAMSA_E2E=1).

var (
	seedClusterPorts     = []int{9092, 9093, 9094, 19092, 19093, 19094, 9644, 9645, 9646}
	describeRF3Topic     = regexp.MustCompile(`^Topic: test\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: ?`)
	describeRF3Partition = regexp.MustCompile(`^\tTopic: test\tPartition: (\d+)\tLeader: (\d+)\tReplicas: (\d+,\d+,\d+)\tIsr: ([\d,]*)(\t|$)`)
)

func TestSeedClusterScenario(t *testing.T) {
	for _, port := range seedClusterPorts {
		if err := portsFree("localhost", port); err != nil {
			cannotRun(t, fmt.Sprintf("the example cluster needs localhost ports %v, and %d is taken: %v", seedClusterPorts, port, err))
		}
	}
	startExampleCluster(t)
	tools := kafkaTools(t)
	must := func(stdin, tool string, args ...string) toolResult {
		t.Helper()
		r := runTool(t, 60*time.Second, stdin, filepath.Join(tools, tool), args...)
		if r.Err != nil {
			t.Fatalf("%s %s:\n%s", tool, strings.Join(args, " "), r)
		}
		return r
	}

	r := must("", "kafka-topics.sh", "--bootstrap-server", "localhost:9092", "--create", "--topic", "test", "--replication-factor", "3", "--partitions", "3")
	if r.Stdout != "Created topic test.\n" {
		t.Errorf("--create printed %q, want %q", r.Stdout, "Created topic test.\n")
	}
	// The ISRs fill as the followers start fetching: poll.
	var out string
	waitUntil(t, 60*time.Second, "--describe shows three leaders with full ISRs", func() error {
		out = must("", "kafka-topics.sh", "--bootstrap-server", "localhost:9093", "--describe", "--topic", "test").Stdout
		return checkSeedDescribe(out)
	})
	t.Logf("kafka-topics.sh --describe:\n%s", out)

	must("hello\nsamsa\ncluster\n", "kafka-console-producer.sh", "--bootstrap-server", "localhost:9092", "--topic", "test")
	r = must("", "kafka-console-consumer.sh", "--bootstrap-server", "localhost:9094", "--topic", "test", "--from-beginning", "--max-messages", "3")
	got := strings.Fields(r.Stdout)
	slices.Sort(got) // three lines may land on different partitions
	if !slices.Equal(got, []string{"cluster", "hello", "samsa"}) {
		t.Errorf("the console consumer on node 3 printed %q, want the three lines produced on node 1", r.Stdout)
	}

	t.Run("metrics", func(t *testing.T) {
		// Each node's metrics endpoint answers; one has the active
		// controller, and each leads one partition of test, all in sync.
		active := 0
		for i, port := range []int{9644, 9645, 9646} {
			m := scrapeMetrics(t, fmt.Sprintf("localhost:%d", port))
			if !strings.Contains(m, "\nsamsa_under_replicated_partitions 0\n") || !strings.Contains(m, "\nsamsa_cluster_brokers{state=\"active\"} 3\n") {
				t.Errorf("node %d's metrics show a replica out of sync or a broker missing:\n%s", i+1, m)
			}
			if strings.Contains(m, "\nsamsa_controller_active 1\n") {
				active++
			}
		}
		if active != 1 {
			t.Errorf("%d nodes report the active controller, want 1", active)
		}
	})

	t.Run("log pipeline", func(t *testing.T) {
		checkLogPipeline(t, tools, "test", []string{"localhost:9092", "localhost:9093", "localhost:9094"})
	})
}

// checkSeedDescribe checks kafka-topics.sh --describe output for topic
// test: three partitions, three replicas each, all in sync, led by three
// different nodes.
func checkSeedDescribe(out string) error {
	lines := outputLines(out)
	if len(lines) != 4 || !describeRF3Topic.MatchString(lines[0]) {
		return fmt.Errorf("not three partitions of three replicas in Kafka's format:\n%s", out)
	}
	leaders := map[string]bool{}
	for i, l := range lines[1:] {
		m := describeRF3Partition.FindStringSubmatch(l)
		if m == nil || m[1] != fmt.Sprint(i) {
			return fmt.Errorf("partition line %d is not in Kafka's format: %q", i, l)
		}
		replicas, isr := strings.Split(m[3], ","), strings.Split(m[4], ",")
		slices.Sort(replicas)
		slices.Sort(isr)
		if !slices.Equal(replicas, isr) {
			return fmt.Errorf("partition %d has ISR %s of replicas %s", i, m[4], m[3])
		}
		leaders[m[2]] = true
	}
	if len(leaders) != 3 {
		return fmt.Errorf("the three partitions do not have three different leaders:\n%s", out)
	}
	return nil
}

// startExampleCluster starts the three nodes of
// examples/cluster/one-host, each from its file as it is but for log.dirs,
// which --override points into the test's temporary directory.
func startExampleCluster(t *testing.T) *Cluster {
	t.Helper()
	c := &Cluster{t: t}
	for i := 1; i <= 3; i++ {
		example, err := filepath.Abs(fmt.Sprintf("../examples/cluster/one-host/server-%d.properties", i))
		if err != nil {
			t.Fatal(err)
		}
		n := c.newNode(int32(i), "localhost", 9091+i)
		n.launch = func(_, dataDir string) (string, []string) {
			return samsaBin, []string{"server", "-c", example, "--override", "log.dirs=" + dataDir}
		}
	}
	c.startAll()
	return c
}

// scrapeMetrics reads the metrics endpoint at addr.
func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d %v", addr, resp.StatusCode, err)
	}
	return string(b)
}
