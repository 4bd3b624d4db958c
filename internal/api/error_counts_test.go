package api_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/api"
	"github.com/samsa-io/samsa/internal/metrics"
)

// Every ErrorCode of a response is counted, at whatever depth, as Kafka's
// errorCounts do: a metadata response a code per topic and per partition.
func TestCountErrors(t *testing.T) {
	r := metrics.NewRegistry()
	q := metrics.NewRequests(r, "broker", func(k int16, _ bool) string { return kmsg.NameForKey(k) },
		func(code int16) string { return strconv.Itoa(int(code)) })
	meta := kmsg.NewPtrMetadataResponse()
	for _, topic := range []struct {
		code  int16
		parts []int16
	}{
		{0, []int16{0, kerr.LeaderNotAvailable.Code, 0}},
		{kerr.UnknownTopicOrPartition.Code, nil},
	} {
		mt := kmsg.NewMetadataResponseTopic()
		mt.ErrorCode = topic.code
		for _, c := range topic.parts {
			mp := kmsg.NewMetadataResponseTopicPartition()
			mp.ErrorCode = c
			mt.Partitions = append(mt.Partitions, mp)
		}
		meta.Topics = append(meta.Topics, mt)
	}
	api.CountErrors(q, meta.Key(), meta)
	api.CountErrors(q, kmsg.ApiVersions.Int16(), &kmsg.ApiVersionsResponse{ErrorCode: kerr.UnsupportedVersion.Code,
		ApiKeys: []kmsg.ApiVersionsResponseApiKey{{ApiKey: 0}, {ApiKey: 1}}})
	var sb strings.Builder
	r.Write(&sb)
	for _, line := range []string{
		`samsa_request_errors_total{server="broker",request="Metadata",error="0"} 4`, // two partitions, a topic, the response
		`samsa_request_errors_total{server="broker",request="Metadata",error="5"} 1`,
		`samsa_request_errors_total{server="broker",request="Metadata",error="3"} 1`,
		`samsa_request_errors_total{server="broker",request="ApiVersions",error="35"} 1`,
	} {
		if !strings.Contains(sb.String(), "\n"+line+"\n") {
			t.Errorf("no line %q in\n%s", line, sb.String())
		}
	}
	if n := strings.Count(sb.String(), "samsa_request_errors_total{"); n != 4 {
		t.Errorf("%d error series, want 4", n)
	}

	// Counting a produce response allocates nothing once its type's plan
	// is made.
	produce := kmsg.NewPtrProduceResponse()
	for range 2 {
		pt := kmsg.NewProduceResponseTopic()
		pt.Partitions = make([]kmsg.ProduceResponseTopicPartition, 3)
		produce.Topics = append(produce.Topics, pt)
	}
	api.CountErrors(q, produce.Key(), produce)
	if n := testing.AllocsPerRun(100, func() { api.CountErrors(q, produce.Key(), produce) }); n != 0 {
		t.Errorf("%v allocations counting a produce response's codes", n)
	}
}
