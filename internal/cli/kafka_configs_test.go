package cli

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestKafkaConfigs(t *testing.T) {
	c := newCluster(t, kfake.SeedTopics(1, "events"))
	kc := func(args ...string) result {
		t.Helper()
		return c.run("", append([]string{"kafka-configs.sh", "--bootstrap-server", c.addr}, args...)...)
	}

	t.Run("a topic without overrides has no dynamic configs", func(t *testing.T) {
		if out := kc("--describe", "--entity-type", "topics", "--entity-name", "events").ok(t); out != "Dynamic configs for topic events are:\n" {
			t.Fatalf("stdout %q", out)
		}
	})

	t.Run("alter adds configs, brackets group list values", func(t *testing.T) {
		out := kc("--alter", "--entity-type", "topics", "--entity-name", "events",
			"--add-config", "retention.ms=1000,cleanup.policy=[compact,delete]").ok(t)
		if out != "Completed updating config for topic events.\n" {
			t.Fatalf("stdout %q", out)
		}
		out = kc("--describe", "--topic", "events").ok(t)
		matchLines(t, out, `^Dynamic configs for topic events are:$`,
			`^  cleanup\.policy=compact,delete sensitive=false synonyms=\{.*\}$`,
			`^  retention\.ms=1000 sensitive=false synonyms=\{.*\}$`)
		if n := len(lines(out)); n != 3 {
			t.Fatalf("%d lines:\n%s", n, out)
		}
	})

	t.Run("--all shows defaults too", func(t *testing.T) {
		out := kc("--describe", "--all", "--topic", "events").ok(t)
		matchLines(t, out, `^All configs for topic events are:$`, `^  min\.insync\.replicas=1 sensitive=false synonyms=\{.*\}$`)
	})

	t.Run("delete-config removes and refuses unknown keys", func(t *testing.T) {
		kc("--alter", "--topic", "events", "--delete-config", "retention.ms").ok(t)
		if out := kc("--describe", "--topic", "events").ok(t); strings.Contains(out, "retention.ms") {
			t.Fatalf("still there:\n%s", out)
		}
		r := kc("--alter", "--topic", "events", "--delete-config", "retention.ms,nope").wantCode(t, 1)
		if r.stderr != "Invalid config(s): retention.ms,nope\n" {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("broker defaults and a broker", func(t *testing.T) {
		out := kc("--alter", "--entity-type", "brokers", "--entity-default", "--add-config", "log.retention.ms=1000").ok(t)
		if out != "Completed updating default config for brokers in the cluster.\n" {
			t.Fatalf("stdout %q", out)
		}
		matchLines(t, kc("--describe", "--broker-defaults").ok(t), `^Default configs for brokers in the cluster are:$`)
		matchLines(t, kc("--describe", "--broker", "0").ok(t), `^Dynamic configs for broker 0 are:$`)
		matchLines(t, kc("--describe", "--entity-type", "brokers").ok(t), `^Dynamic configs for broker 0 are:$`, `^Default configs for brokers in the cluster are:$`)
	})

	t.Run("broker loggers are described and changed on the broker", func(t *testing.T) {
		// kfake has no loggers: these answers stand in for a broker with
		// one, root, at INFO.
		level := "INFO"
		var ops []string
		isLogger := func(typ kmsg.ConfigResourceType) bool { return typ == kmsg.ConfigResourceTypeBrokerLogger }
		c.c.ControlKey(int16(kmsg.DescribeConfigs), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.c.KeepControl()
			r := req.(*kmsg.DescribeConfigsRequest)
			if len(r.Resources) != 1 || !isLogger(r.Resources[0].ResourceType) {
				return nil, nil, false
			}
			resp := r.ResponseKind().(*kmsg.DescribeConfigsResponse)
			res := kmsg.NewDescribeConfigsResponseResource()
			res.ResourceType, res.ResourceName = r.Resources[0].ResourceType, r.Resources[0].ResourceName
			rc := kmsg.NewDescribeConfigsResponseResourceConfig()
			rc.Name, rc.Value, rc.Source = "root", kmsg.StringPtr(level), kmsg.ConfigSourceDynamicBrokerLoggerConfig
			res.Configs = append(res.Configs, rc)
			resp.Resources = append(resp.Resources, res)
			return resp, nil, true
		})
		c.c.ControlKey(int16(kmsg.IncrementalAlterConfigs), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.c.KeepControl()
			r := req.(*kmsg.IncrementalAlterConfigsRequest)
			if len(r.Resources) != 1 || !isLogger(r.Resources[0].ResourceType) {
				return nil, nil, false
			}
			resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
			res := kmsg.NewIncrementalAlterConfigsResponseResource()
			res.ResourceType, res.ResourceName = r.Resources[0].ResourceType, r.Resources[0].ResourceName
			for _, op := range r.Resources[0].Configs {
				ops = append(ops, op.Op.String()+" "+op.Name+"="+nullable(op.Value))
				if op.Op == kmsg.IncrementalAlterConfigOpSet {
					level = *op.Value
				}
			}
			resp.Resources = append(resp.Resources, res)
			return resp, nil, true
		})

		if out := kc("--describe", "--entity-type", "broker-loggers", "--entity-name", "0").ok(t); out != "Dynamic configs for broker-logger 0 are:\n  root=INFO sensitive=false synonyms={}\n" {
			t.Fatalf("stdout %q", out)
		}
		if out := kc("--alter", "--broker-logger", "0", "--add-config", "root=DEBUG").ok(t); out != "Completed updating config for broker-logger 0.\n" {
			t.Fatalf("stdout %q", out)
		}
		matchLines(t, kc("--describe", "--broker-logger", "0").ok(t), `^Dynamic configs for broker-logger 0 are:$`, `^  root=DEBUG sensitive=false synonyms=\{\}$`)
		// A logger the broker does not describe is refused before anything
		// is sent.
		r := kc("--alter", "--broker-logger", "0", "--add-config", "kafka.server=DEBUG", "--delete-config", "kafka.log").wantCode(t, 1)
		if !strings.Contains(r.stderr, "InvalidConfigurationException: Invalid broker logger(s): kafka.log,kafka.server") {
			t.Fatalf("stderr %q", r.stderr)
		}
		if want := []string{"SET root=DEBUG"}; !slices.Equal(ops, want) {
			t.Fatalf("operations sent %q, want %q", ops, want)
		}
	})

	t.Run("quota entities pair names with types in command-line order", func(t *testing.T) {
		var sent []string
		c.c.ControlKey(int16(kmsg.AlterClientQuotas), func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.c.KeepControl()
			r := req.(*kmsg.AlterClientQuotasRequest)
			resp := r.ResponseKind().(*kmsg.AlterClientQuotasResponse)
			for _, e := range r.Entries {
				var parts []string
				re := kmsg.NewAlterClientQuotasResponseEntry()
				for _, ent := range e.Entity {
					name := "<default>"
					if ent.Name != nil {
						name = *ent.Name
					}
					parts = append(parts, ent.Type+"="+name)
					rent := kmsg.NewAlterClientQuotasResponseEntryEntity()
					rent.Type, rent.Name = ent.Type, ent.Name
					re.Entity = append(re.Entity, rent)
				}
				sent = append(sent, strings.Join(parts, ","))
				resp.Entries = append(resp.Entries, re)
			}
			return resp, nil, true
		})
		for _, tc := range []struct {
			args      []string
			entity    string
			completed string
		}{
			{[]string{"--entity-type", "users", "--entity-default", "--entity-type", "clients", "--entity-name", "app"},
				"user=<default>,client-id=app", "Completed updating default config for users in the cluster.\n"},
			{[]string{"--entity-type", "users", "--entity-name", "alice", "--entity-type", "clients", "--entity-default"},
				"user=alice,client-id=<default>", "Completed updating config for user alice.\n"},
			{[]string{"--entity-default", "--entity-type", "clients", "--entity-name=app", "--entity-type", "users"},
				"client-id=<default>,user=app", "Completed updating default config for clients in the cluster.\n"},
		} {
			sent = nil
			out := kc(append([]string{"--alter", "--add-config", "producer_byte_rate=1024"}, tc.args...)...).ok(t)
			if len(sent) != 1 || sent[0] != tc.entity || out != tc.completed {
				t.Errorf("%q: sent %q, printed %q; want %q, %q", tc.args, sent, out, tc.entity, tc.completed)
			}
		}
		r := kc("--alter", "--add-config", "producer_byte_rate=1024", "--entity-type", "users", "--entity-type", "clients", "--entity-name", "app").wantCode(t, 1)
		if r.stderr != "--entity-name or --entity-default must be specified with each --entity-type for --alter\n" {
			t.Errorf("a type without a name: stderr %q", r.stderr)
		}
	})

	t.Run("argument checks", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			msg  string
		}{
			{[]string{"--topic", "events"}, "Command must include exactly one action: --describe, --alter"},
			{[]string{"--describe"}, "At least one entity type must be specified"},
			{[]string{"--describe", "--entity-type", "bananas"}, "Invalid entity type bananas"},
			{[]string{"--alter", "--entity-type", "topics", "--add-config", "a=b"}, "An entity name must be specified with --alter of topics"},
			{[]string{"--alter", "--topic", "events"}, "At least one of --add-config, --add-config-file, or --delete-config must be specified with --alter"},
			{[]string{"--describe", "--broker", "one"}, "must be a valid integer broker id"},
			{[]string{"--describe", "--topic", "events", "--entity-name", "x"}, "--entity-{type,name,default} should not be used in conjunction with specific entity flags"},
			{[]string{"--zookeeper", "zk:2181", "--describe", "--topic", "events"}, "--bootstrap-server"},
		} {
			r := kc(tc.args...).wantCode(t, 2)
			if !strings.Contains(r.stderr, tc.msg) {
				t.Fatalf("%v: stderr %q lacks %q", tc.args, r.stderr, tc.msg)
			}
		}
		r := kc("--alter", "--topic", "events", "--add-config", "novalue").wantCode(t, 1)
		if !strings.Contains(r.stderr, `all configs to be added must be in the format "key=val"`) {
			t.Fatalf("stderr %q", r.stderr)
		}
		r = kc("--describe", "--entity-type", "groups", "--entity-name", "g").wantCode(t, 1)
		if !strings.Contains(r.stderr, "not supported") {
			t.Fatalf("stderr %q", r.stderr)
		}
	})

	t.Run("a broker's error reads as Kafka's tool prints it", func(t *testing.T) {
		r := kc("--describe", "--topic", "nope").wantCode(t, 1)
		want := "Error while executing config command with args '--bootstrap-server " + c.addr + " --describe --topic nope'\n" +
			"java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.UnknownTopicOrPartitionException: "
		if !strings.HasPrefix(r.stderr, want) {
			t.Fatalf("stderr %q, want it to start %q", r.stderr, want)
		}
	})
}

func TestJavaExecution(t *testing.T) {
	for _, tc := range []struct {
		err  error
		msg  string
		want string
	}{
		{kerr.InvalidConfig, "Invalid value abc for configuration retention.ms", "java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.InvalidConfigurationException: Invalid value abc for configuration retention.ms"},
		{kerr.InvalidRequest, "", "java.util.concurrent.ExecutionException: org.apache.kafka.common.errors.InvalidRequestException: " + kerr.InvalidRequest.Description},
		{kerr.InvalidTopicException, "", "java.util.concurrent.ExecutionException: INVALID_TOPIC_EXCEPTION: " + kerr.InvalidTopicException.Description}, // no class known: Kafka's name
		{errors.New("dial tcp: refused"), "", "dial tcp: refused"},
	} {
		if got := javaExecution(tc.err, tc.msg).Error(); got != tc.want {
			t.Errorf("%v, %q: %q, want %q", tc.err, tc.msg, got, tc.want)
		}
	}
}

func TestParseAddConfig(t *testing.T) {
	p, err := parseAddConfig("a=1, b = [x,y] ,c=")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range p.Keys() {
		v, _ := p.Get(k)
		got = append(got, k+"="+v)
	}
	if strings.Join(got, "|") != "a=1|b=x,y|c=" {
		t.Fatalf("got %q", got)
	}
}
