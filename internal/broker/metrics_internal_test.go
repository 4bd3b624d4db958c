package broker

import "testing"

// The request label spells APIs as Kafka's RequestMetrics do.
func TestAPINamesAsKafkaSpellsThem(t *testing.T) {
	for key, want := range map[int16]string{
		0: "Produce", 1: "FetchConsumer", 4: "LeaderAndIsr", 17: "SaslHandshake", 22: "InitProducerId", 29: "DescribeAcls",
		50: "DescribeUserScramCredentials", 67: "AllocateProducerIds",
	} {
		if got := requestName(key, false); got != want {
			t.Errorf("API key %d is %q, want %q", key, got, want)
		}
	}
}
