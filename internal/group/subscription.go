package group

import (
	"encoding/binary"
	"errors"
)

// consumerProtocolType is the protocol type of Kafka consumers. Only for it
// does the coordinator look inside member metadata: to learn the subscribed
// topics, which OffsetDelete (GROUP_SUBSCRIBED_TO_TOPIC) and offset expiry
// of stable groups need. Every other protocol type is opaque.
const consumerProtocolType = "consumer"

var errBadSubscription = errors.New("malformed consumer protocol subscription")

// subscribedTopics decodes the topics of a consumer protocol subscription.
// Every version of ConsumerProtocolSubscription starts with version 0's
// layout, which is all that is read (as Kafka does, so the coordinator does
// not depend on the client's version):
//
//	version    int16   ≥ 0
//	topics     int32 count, then count × (int16 length, UTF-8 bytes)
//	user_data  (and, from v1, owned partitions, generation, rack): not read
//
// Lengths are checked against the bytes present before anything is
// allocated.
func subscribedTopics(meta []byte, into map[string]struct{}) error {
	if len(meta) < 6 {
		return errBadSubscription
	}
	if int16(binary.BigEndian.Uint16(meta)) < 0 {
		return errBadSubscription
	}
	n := int32(binary.BigEndian.Uint32(meta[2:]))
	b := meta[6:]
	if n < 0 || int(n) > len(b)/2 {
		return errBadSubscription
	}
	for ; n > 0; n-- {
		if len(b) < 2 {
			return errBadSubscription
		}
		l := int16(binary.BigEndian.Uint16(b))
		b = b[2:]
		if l < 0 || int(l) > len(b) {
			return errBadSubscription
		}
		into[string(b[:l])] = struct{}{}
		b = b[l:]
	}
	return nil
}
