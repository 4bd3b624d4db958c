package kclient

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A flexible response header may carry tagged fields; they are skipped,
// not read as the body.
func TestDecodeResponseSkipsHeaderTags(t *testing.T) {
	req := kmsg.NewPtrMetadataRequest()
	req.SetVersion(12)
	resp := kmsg.NewPtrMetadataResponse()
	resp.SetVersion(12)
	resp.ClusterID = kmsg.StringPtr("c1")
	data := binary.BigEndian.AppendUint32(nil, 7)
	data = append(data, 2, 0, 1, 'x', 5, 3, 'a', 'b', 'c') // two tags: 0 (1 byte) and 5 (3 bytes)
	data = resp.AppendTo(data)
	got, err := DecodeResponse(req, data)
	if err != nil {
		t.Fatal(err)
	}
	if id := got.(*kmsg.MetadataResponse).ClusterID; id == nil || *id != "c1" {
		t.Fatalf("cluster id %v, want c1", id)
	}
	for _, cut := range []int{4, 5, 7, 10} { // inside the tags
		if _, err := DecodeResponse(req, data[:cut]); err == nil {
			t.Errorf("a response cut after %d bytes was decoded", cut)
		}
	}
}

// FuzzDecodeResponse decodes any bytes a peer node could answer with as
// the responses a node asks other nodes for: an error or a response, never
// a panic.
func FuzzDecodeResponse(f *testing.F) {
	reqs := []kmsg.Request{
		kmsg.NewPtrFetchRequest(), kmsg.NewPtrMetadataRequest(), kmsg.NewPtrApiVersionsRequest(),
		kmsg.NewPtrBrokerRegistrationRequest(), kmsg.NewPtrBrokerHeartbeatRequest(),
		kmsg.NewPtrAlterPartitionRequest(), kmsg.NewPtrEnvelopeRequest(), kmsg.NewPtrFindCoordinatorRequest(),
		kmsg.NewPtrOffsetForLeaderEpochRequest(), kmsg.NewPtrCreateTopicsRequest(),
	}
	for i, r := range reqs {
		resp := r.ResponseKind()
		resp.SetVersion(r.MaxVersion())
		f.Add(uint8(i), r.MaxVersion(), AppendResponse(nil, resp, 1))
	}
	f.Fuzz(func(t *testing.T, which uint8, version int16, data []byte) {
		req := reqs[int(which)%len(reqs)]
		req.SetVersion(min(max(version, 0), req.MaxVersion()))
		DecodeResponse(req, data)
	})
}

// Decoding a response's header allocates nothing: it runs for every
// replication fetch.
func TestSkipTagsAllocatesNothing(t *testing.T) {
	hdr := []byte{2, 0, 1, 'x', 5, 3, 'a', 'b', 'c', 0}
	if n := testing.AllocsPerRun(100, func() { skipTags(hdr) }); n != 0 {
		t.Errorf("%v allocations", n)
	}
}
