package api_test

import (
	"log/slog"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// send sends req to the first broker itself, whatever the resources name:
// kgo routes a BROKER_LOGGER resource to the broker it names, which for a
// wrong name is none.
func send(t *testing.T, cl *kgo.Client, req kmsg.Request) kmsg.Response {
	t.Helper()
	resp, err := cl.Broker(1).Request(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// loggerOp is one IncrementalAlterConfigs operation on a broker logger.
type loggerOp struct {
	op    kmsg.IncrementalAlterConfigOp
	name  string
	value *string
}

// alterLoggers sends one IncrementalAlterConfigs with a BROKER_LOGGER
// resource named broker and, when topic is set, a topic resource after it,
// and returns the answers in order.
func alterLoggers(t *testing.T, cl *kgo.Client, broker, topic string, validateOnly bool, ops ...loggerOp) []kmsg.IncrementalAlterConfigsResponseResource {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	req.ValidateOnly = validateOnly
	r := kmsg.NewIncrementalAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, broker
	for _, o := range ops {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Op, c.Name, c.Value = o.op, o.name, o.value
		r.Configs = append(r.Configs, c)
	}
	req.Resources = append(req.Resources, r)
	if topic != "" {
		rt := kmsg.NewIncrementalAlterConfigsRequestResource()
		rt.ResourceType, rt.ResourceName = kmsg.ConfigResourceTypeTopic, topic
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name, c.Value = "retention.ms", kmsg.StringPtr("60000")
		rt.Configs = append(rt.Configs, c)
		req.Resources = append(req.Resources, rt)
	}
	return send(t, cl, req).(*kmsg.IncrementalAlterConfigsResponse).Resources
}

// describeLoggers returns broker's loggers and their levels, or the error.
func describeLoggers(t *testing.T, cl *kgo.Client, broker string) (map[string]string, *kerr.Error) {
	t.Helper()
	req := kmsg.NewPtrDescribeConfigsRequest()
	r := kmsg.NewDescribeConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, broker
	req.Resources = append(req.Resources, r)
	res := send(t, cl, req).(*kmsg.DescribeConfigsResponse).Resources[0]
	if res.ErrorCode != 0 {
		return nil, kerr.ErrorForCode(res.ErrorCode).(*kerr.Error)
	}
	out := map[string]string{}
	for _, c := range res.Configs {
		if c.Source != kmsg.ConfigSourceDynamicBrokerLoggerConfig || c.ReadOnly || c.IsSensitive || c.Value == nil {
			t.Errorf("logger %s: source %v, read-only %v, sensitive %v, value %v", c.Name, c.Source, c.ReadOnly, c.IsSensitive, c.Value)
			continue
		}
		out[c.Name] = *c.Value
	}
	return out, nil
}

func TestBrokerLoggerLevels(t *testing.T) {
	c := clustertest.Start(t)
	n := c.Node(0)
	id := strconv.Itoa(int(n.ID))
	cl := c.Client(t)
	if _, err := c.Admin(t).CreateTopic(ctxT(t), 1, 1, nil, "logged"); err != nil {
		t.Fatal(err)
	}
	set := func(name, level string) loggerOp {
		return loggerOp{op: kmsg.IncrementalAlterConfigOpSet, name: name, value: kmsg.StringPtr(level)}
	}
	check := func(res kmsg.IncrementalAlterConfigsResponseResource, want *kerr.Error, wantMsg string) {
		t.Helper()
		msg := ""
		if res.ErrorMessage != nil {
			msg = *res.ErrorMessage
		}
		var wantCode int16
		if want != nil {
			wantCode = want.Code
		}
		if res.ErrorCode != wantCode || (wantMsg != "" && msg != wantMsg) {
			t.Errorf("%v %q: %v %q, want %v %q", res.ResourceType, res.ResourceName, kerr.ErrorForCode(res.ErrorCode), msg, want, wantMsg)
		}
	}

	got, kerrCode := describeLoggers(t, cl, id)
	if kerrCode != nil || len(got) != 1 || got["root"] != "INFO" {
		t.Fatalf("loggers at start: %v %v, want root=INFO", got, kerrCode)
	}

	// A set, with a topic resource after it in the same request: the
	// topic goes to the controller, the answers keep the request's order.
	res := alterLoggers(t, cl, id, "logged", false, set("root", "DEBUG"))
	if len(res) != 2 || res[0].ResourceType != kmsg.ConfigResourceTypeBrokerLogger || res[1].ResourceName != "logged" {
		t.Fatalf("answers: %+v", res)
	}
	check(res[0], nil, "")
	check(res[1], nil, "")
	if l := n.LogLevel(); l != slog.LevelDebug {
		t.Errorf("level after root=DEBUG: %v", l)
	}
	if got, _ := describeLoggers(t, cl, id); got["root"] != "DEBUG" {
		t.Errorf("described after root=DEBUG: %v", got)
	}
	check(alterLoggers(t, cl, id, "", false, set("root", "TRACE"))[0], nil, "")
	if got, _ := describeLoggers(t, cl, id); got["root"] != "TRACE" || n.LogLevel() >= slog.LevelDebug {
		t.Errorf("after root=TRACE: described %v, level %v", got, n.LogLevel())
	}

	// validate_only checks and changes nothing.
	check(alterLoggers(t, cl, id, "", true, set("root", "ERROR"))[0], nil, "")
	if got, _ := describeLoggers(t, cl, id); got["root"] != "TRACE" {
		t.Errorf("validate_only changed the level: %v", got)
	}

	// Kafka's refusals; none changes the level, even when an earlier
	// operation in the resource was valid.
	for _, tc := range []struct {
		broker  string
		ops     []loggerOp
		want    *kerr.Error
		wantMsg string
	}{
		{id, []loggerOp{set("root", "VERBOSE")}, kerr.InvalidConfig,
			"Cannot set the log level of root to VERBOSE as it is not a supported log level. Valid log levels are DEBUG, ERROR, FATAL, INFO, TRACE, WARN"},
		{id, []loggerOp{set("root", "WARN"), set("kafka.server", "DEBUG")}, kerr.InvalidConfig, "Logger kafka.server does not exist!"},
		{id, []loggerOp{{op: kmsg.IncrementalAlterConfigOpDelete, name: "root"}}, kerr.InvalidRequest, "Removing the log level of the root logger is not allowed"},
		{id, []loggerOp{{op: kmsg.IncrementalAlterConfigOpAppend, name: "root", value: kmsg.StringPtr("INFO")}}, kerr.InvalidRequest,
			"APPEND operation is not allowed for the BROKER_LOGGER resource"},
		{"x", []loggerOp{set("root", "WARN")}, kerr.InvalidRequest, "Node id must be an integer, but it is: x"},
		{"99", []loggerOp{set("root", "WARN")}, kerr.InvalidRequest, "Unexpected node id. Expected " + id + ", but received 99"},
	} {
		check(alterLoggers(t, cl, tc.broker, "", false, tc.ops...)[0], tc.want, tc.wantMsg)
	}
	if got, _ := describeLoggers(t, cl, id); got["root"] != "TRACE" {
		t.Errorf("a refused change changed the level: %v", got)
	}

	// Describing another broker's loggers, or none, is refused.
	if _, err := describeLoggers(t, cl, "99"); err != kerr.InvalidRequest {
		t.Errorf("describe broker 99: %v, want INVALID_REQUEST", err)
	}
	if _, err := describeLoggers(t, cl, ""); err != kerr.InvalidRequest {
		t.Errorf("describe with no broker id: %v, want INVALID_REQUEST", err)
	}

	// The legacy AlterConfigs does not take broker loggers.
	req := kmsg.NewPtrAlterConfigsRequest()
	r := kmsg.NewAlterConfigsRequestResource()
	r.ResourceType, r.ResourceName = kmsg.ConfigResourceTypeBrokerLogger, id
	req.Resources = append(req.Resources, r)
	if code := send(t, cl, req).(*kmsg.AlterConfigsResponse).Resources[0].ErrorCode; code != kerr.InvalidRequest.Code {
		t.Errorf("AlterConfigs of a broker logger: %v, want INVALID_REQUEST", kerr.ErrorForCode(code))
	}
}
