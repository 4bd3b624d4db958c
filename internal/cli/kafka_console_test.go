package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestKafkaConsole(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "test"))
	producer := func(stdin string, args ...string) result {
		t.Helper()
		return c.run(stdin, append([]string{"kafka-console-producer.sh", "--broker-list", c.addr, "--topic", "test"}, args...)...)
	}
	consumer := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-console-consumer.sh", "--bootstrap-server", c.addr, "--topic", "test"}, args...)...)
	}

	t.Run("keyed lines with parse.key and key.separator", func(t *testing.T) {
		if out := producer("k1:hello\nk2:world\n", "--property", "parse.key=true", "--property", "key.separator=:").ok(t); out != "" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("consume them back with print.key", func(t *testing.T) {
		r := consumer("--from-beginning", "--max-messages", "2", "--property", "print.key=true")
		if out := r.ok(t); out != "k1\thello\nk2\tworld\n" {
			t.Fatalf("stdout %q", out)
		}
		if r.stderr != "Processed a total of 2 messages\n" {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("the DefaultMessageFormatter fields", func(t *testing.T) {
		out := consumer("--from-beginning", "--max-messages", "1", "--formatter-property", "print.timestamp=true",
			"--formatter-property", "print.partition=true", "--formatter-property", "print.offset=true",
			"--formatter-property", "print.key=true").ok(t)
		matchLines(t, out, `^CreateTime:\d{13}\tPartition:0\tOffset:0\tk1\thello$`)
		out = consumer("--from-beginning", "--max-messages", "2", "--property", "print.key=true", "--property", "print.value=false",
			"--property", "line.separator=;").ok(t)
		if out != "k1;k2;" {
			t.Fatalf("keys only: %q", out)
		}
	})

	t.Run("headers, null markers and the 4.x flag names", func(t *testing.T) {
		producer("h1:a,h2:b\tk3\tv3\n\tk4\tNULL\n", "--reader-property", "parse.headers=true", "--reader-property", "parse.key=true",
			"--reader-property", "null.marker=NULL", "--reader-property", "ignore.error=true").ok(t)
		out := consumer("--offset", "2", "--partition", "0", "--max-messages", "2", "--formatter-property", "print.headers=true",
			"--formatter-property", "print.key=true", "--formatter-property", "null.literal=<nil>").ok(t)
		if out != "h1:a,h2:b\tk3\tv3\nNO_HEADERS\tk4\t<nil>\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("a line without the key separator stops with Kafka's message", func(t *testing.T) {
		r := producer("nokey\n", "--property", "parse.key=true").wantCode(t, 1)
		if !strings.Contains(r.stderr, "No key separator found on line number 1: 'nokey'") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("the prompt appears only on a terminal", func(t *testing.T) {
		r := c.runTTY("one\ntwo\n", "kafka-console-producer.sh", "--bootstrap-server", c.addr, "--topic", "test", "--sync")
		if out := r.ok(t); out != ">>>" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("--timeout-ms ends an idle consumer", func(t *testing.T) {
		r := consumer("--timeout-ms", "300")
		if out := r.ok(t); out != "" {
			t.Fatalf("stdout %q", out)
		}
		matchLines(t, r.stderr, `TimeoutException`, `^Processed a total of 0 messages$`)
	})

	t.Run("a group commits what it printed", func(t *testing.T) {
		if out := consumer("--group", "g1", "--from-beginning", "--max-messages", "1").ok(t); out != "hello\n" {
			t.Fatalf("first: %q", out)
		}
		if out := consumer("--group", "g1", "--max-messages", "1").ok(t); out != "world\n" {
			t.Fatalf("second: %q", out)
		}
	})

	t.Run("--include takes a regex", func(t *testing.T) {
		out := c.run("", "kafka-console-consumer.sh", "--bootstrap-server", c.addr, "--include", "te.t", "--from-beginning", "--max-messages", "1").ok(t)
		if out != "hello\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("Kafka's option checks", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"kafka-console-consumer.sh"}, "Exactly one of --include/--topic is required."},
			{[]string{"kafka-console-consumer.sh", "--topic", "test", "--offset", "1"}, "The partition is required when offset is specified."},
			{[]string{"kafka-console-consumer.sh", "--topic", "test", "--partition", "0", "--group", "g"}, "Options group and partition cannot be specified together."},
			{[]string{"kafka-console-consumer.sh", "--topic", "test", "--partition", "0", "--offset", "x"}, "The provided offset value 'x' is incorrect."},
			{[]string{"kafka-console-consumer.sh", "--topic", "test", "--group", "a", "--consumer-property", "group.id=b"}, "Detected group ids: 'a', 'b'"},
			{[]string{"kafka-console-consumer.sh", "--topic", "test", "--zookeeper", "zk:2181"}, "--bootstrap-server"},
			{[]string{"kafka-console-producer.sh"}, `Missing required argument "[topic]"`},
		} {
			r := c.run("", tc.args...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.msg)
			}
		}
	})
}

func TestLineReader(t *testing.T) {
	for _, tc := range []struct {
		name  string
		props map[string]string
		line  string
		key   string // "<nil>" for a null key
		value string
		hdrs  string
		err   string
	}{
		{name: "plain line", line: "a\tb", key: "<nil>", value: "a\tb"},
		{name: "tab key", props: map[string]string{"parse.key": "true"}, line: "k\tv\tw", key: "k", value: "v\tw"},
		{name: "multi-char separator", props: map[string]string{"parse.key": "TRUE", "key.separator": "::"}, line: "k::v", key: "k", value: "v"},
		{name: "empty key", props: map[string]string{"parse.key": "true"}, line: "\tv", key: "", value: "v"},
		{name: "missing separator ignored", props: map[string]string{"parse.key": "true", "ignore.error": "true"}, line: "v", key: "<nil>", value: "v"},
		{name: "headers regex separator", props: map[string]string{"parse.headers": "true", "headers.separator": "[,;]"}, line: "a:1;b:2\tv", key: "<nil>", value: "v", hdrs: "a=1 b=2"},
		{name: "header without separator", props: map[string]string{"parse.headers": "true"}, line: "a\tv", err: "No header key separator found in pair 'a' on line number 7"},
		{name: "equal separators refused", props: map[string]string{"headers.delimiter": ","}, err: "headers.delimiter and headers.separator may not be equal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &props{}
			for k, v := range tc.props {
				p.Set(k, v)
			}
			lr, err := newLineReader(p)
			if err == nil {
				rec, perr := lr.parse(tc.line, 7)
				err = perr
				if err == nil {
					key := "<nil>"
					if rec.Key != nil {
						key = string(rec.Key)
					}
					var hs []string
					for _, h := range rec.Headers {
						hs = append(hs, h.Key+"="+string(h.Value))
					}
					if key != tc.key || string(rec.Value) != tc.value || strings.Join(hs, " ") != tc.hdrs {
						t.Fatalf("got key %q value %q headers %q", key, rec.Value, hs)
					}
				}
			}
			if (err != nil) != (tc.err != "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
		})
	}
}

func TestKafkaConsoleOptions(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "t"))
	dir := t.TempDir()
	cfg := dir + "/producer.properties"
	// The file alone says where the cluster is; $SAMSA_BROKERS is unset below.
	if err := writeFile(cfg, "bootstrap.servers="+c.addr+"\nclient.id=tool\nmade.up=1\n"); err != nil {
		t.Fatal(err)
	}
	r := runMain(t, "", false, "a\nb\n", "kafka-console-producer.sh", "--topic", "t", "--producer.config", cfg, "--compression-codec")
	r.ok(t)
	if !strings.Contains(r.stderr, `"made.up" is not supported`) {
		t.Fatalf("stderr %q", r.stderr)
	}
	out := runMain(t, "", false, "", "kafka-console-consumer.sh", "--topic", "t", "--command-config", cfg, "--from-beginning",
		"--max-messages", "2").ok(t)
	if sortedLines(out) != "a\nb" {
		t.Fatalf("stdout %q", out)
	}
	// --partition with --from-beginning reads that partition from its start.
	c.run("c\n", "samsa", "produce", "t", "-p", "1").ok(t)
	out = c.run("", "kafka-console-consumer.sh", "--topic", "t", "--partition", "1", "--from-beginning", "--timeout-ms", "300",
		"--property", "print.partition=true").ok(t)
	if !strings.HasSuffix(out, "Partition:1\tc\n") {
		t.Fatalf("stdout %q", out)
	}
	// samsa nouns read the same file with --command-config.
	out = runMain(t, "", false, "", "samsa", "consume", "t", "-p", "1", "-e", "--command-config", cfg, "-f", `%p %v %d{go[2006]}\n`).ok(t)
	if !strings.HasSuffix(out, "1 c "+itoa(nowFunc().Year())+"\n") {
		t.Fatalf("stdout %q", out)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }

// A console consumer started before anything wrote to its topic creates
// it, as Kafka's consumer does by default (allow.auto.create.topics=true),
// so it then reads from the topic's start; allow.auto.create.topics=false
// leaves it alone.
func TestKafkaConsoleConsumerCreatesItsTopic(t *testing.T) {
	c := newCluster(t, kfake.AllowAutoTopicCreation())
	exists := func(topic string) bool {
		t.Helper()
		cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		td, err := kadm.NewClient(cl).ListTopics(context.Background(), topic)
		if err != nil {
			t.Fatal(err)
		}
		return td.Has(topic)
	}
	c.run("", "kafka-console-consumer.sh", "--bootstrap-server", c.addr, "--topic", "kept", "--timeout-ms", "300",
		"--consumer-property", "allow.auto.create.topics=false")
	if exists("kept") {
		t.Error("allow.auto.create.topics=false created the topic")
	}
	c.run("", "kafka-console-consumer.sh", "--bootstrap-server", c.addr, "--topic", "early", "--timeout-ms", "300")
	if !exists("early") {
		t.Error("the consumer did not create its topic")
	}
}

// The console consumer balances its group as Kafka's does: range unless
// partition.assignment.strategy names other assignors, which it takes by
// their Java class names or librdkafka's short ones.
func TestKafkaConsoleConsumerAssignor(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(2, "test"))
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.addr), kgo.DefaultProduceTopic("test"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	for i, tc := range []struct {
		props []string
		want  string
	}{
		{nil, "range"},
		{[]string{"--consumer-property", "partition.assignment.strategy=org.apache.kafka.clients.consumer.RoundRobinAssignor"}, "roundrobin"},
		{[]string{"--consumer-property", "partition.assignment.strategy=cooperative-sticky, range"}, "cooperative-sticky"},
	} {
		group := fmt.Sprintf("assignor-%d", i)
		done := make(chan result, 1)
		go func() {
			done <- c.run("", append([]string{"kafka-console-consumer.sh", "--bootstrap-server", c.addr, "--topic", "test",
				"--group", group, "--max-messages", "1"}, tc.props...)...)
		}()
		var protocol string
		for protocol == "" {
			described, err := adm.DescribeGroups(ctx, group)
			if err != nil {
				t.Fatal(err)
			}
			if g := described[group]; g.State == "Stable" {
				protocol = g.Protocol
				break
			}
			select {
			case r := <-done:
				t.Fatalf("%v: the consumer ended before its group was stable: %s", tc.props, r.stderr)
			case <-time.After(10 * time.Millisecond): // polling: the member joins in its own time
			}
		}
		if err := cl.ProduceSync(ctx, kgo.StringRecord("x")).FirstErr(); err != nil {
			t.Fatal(err)
		}
		(<-done).ok(t)
		if protocol != tc.want {
			t.Errorf("%v: the group is balanced by %q, want %q", tc.props, protocol, tc.want)
		}
	}
	r := c.run("", "kafka-console-consumer.sh", "--bootstrap-server", c.addr, "--topic", "test", "--group", "bad",
		"--consumer-property", "partition.assignment.strategy=com.example.MyAssignor").wantCode(t, 1)
	if !strings.Contains(r.stderr, `unknown assignor "com.example.MyAssignor"`) {
		t.Errorf("stderr %q", r.stderr)
	}
}
