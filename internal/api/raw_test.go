package api_test

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/clustertest"
)

// rawConn speaks the protocol frame by frame, for what clients will not
// send: invalid values, pipelines, abrupt ends.
type rawConn struct {
	c    net.Conn
	r    *bufio.Reader
	corr int32
}

func dialRaw(t *testing.T, c *clustertest.Cluster) *rawConn {
	t.Helper()
	nc, err := net.Dial("tcp", c.Addrs()[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	return &rawConn{c: nc, r: bufio.NewReader(nc)}
}

// send writes req at version with the matching request header.
func (rc *rawConn) send(t *testing.T, req kmsg.Request, version int16) {
	t.Helper()
	req.SetVersion(version)
	rc.corr++
	b := requestFrame(req.Key(), version, rc.corr, req.AppendTo(nil))
	if _, err := rc.c.Write(b); err != nil {
		t.Fatalf("send: %v", err)
	}
}

// requestFrame frames body as request key at version: the size, then the
// request header that version takes (client id "test"), then body.
func requestFrame(key, version int16, corr int32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(make([]byte, 0, 20+len(body)), 0)
	b = binary.BigEndian.AppendUint16(b, uint16(key))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 4)
	b = append(b, "test"...)
	req := kmsg.RequestForKey(key)
	req.SetVersion(version)
	if req.IsFlexible() {
		b = append(b, 0) // no tagged fields in the header
	}
	b = append(b, body...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// roundTrip sends req and decodes the next response, checking that its
// correlation id is this request's.
func (rc *rawConn) roundTrip(t *testing.T, req kmsg.Request, version int16) kmsg.Response {
	t.Helper()
	rc.send(t, req, version)
	return rc.receive(t, req, version, rc.corr)
}

// receive decodes the next response as the answer to req at version,
// checking that it carries correlation id corr.
func (rc *rawConn) receive(t *testing.T, req kmsg.Request, version int16, corr int32) kmsg.Response {
	t.Helper()
	var size [4]byte
	if _, err := io.ReadFull(rc.r, size[:]); err != nil {
		t.Fatalf("read response: %v", err)
	}
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rc.r, frame); err != nil {
		t.Fatalf("read response: %v", err)
	}
	if got := int32(binary.BigEndian.Uint32(frame)); got != corr {
		t.Fatalf("response for correlation id %d, want %d", got, corr)
	}
	resp := req.ResponseKind()
	resp.SetVersion(version)
	body := frame[4:]
	if resp.IsFlexible() && req.Key() != 18 {
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp
}

func (rc *rawConn) expectClosed(t *testing.T) {
	t.Helper()
	rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := rc.r.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("connection still open: n=%d err=%v", n, err)
	}
}

func TestApiVersionsFromTheFuture(t *testing.T) {
	c := clustertest.Start(t)
	rc := dialRaw(t, c)
	// ApiVersions v99, flexible header, empty software name and version.
	b := binary.BigEndian.AppendUint32(nil, 0)
	b = binary.BigEndian.AppendUint16(b, 18)
	b = binary.BigEndian.AppendUint16(b, 99)
	b = binary.BigEndian.AppendUint32(b, 7)
	b = binary.BigEndian.AppendUint16(b, 0xffff)
	b = append(b, 0, 1, 1, 0)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	rc.c.Write(b)
	var size [4]byte
	io.ReadFull(rc.r, size[:])
	frame := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(rc.r, frame); err != nil {
		t.Fatal(err)
	}
	var resp kmsg.ApiVersionsResponse // answered in the v0 format
	if err := resp.ReadFrom(frame[4:]); err != nil {
		t.Fatal(err)
	}
	if resp.ErrorCode != 35 || len(resp.ApiKeys) < 10 {
		t.Fatalf("got error %d with %d keys", resp.ErrorCode, len(resp.ApiKeys))
	}
	// The connection stays usable, as clients retry with an older version.
	if got := rc.roundTrip(t, kmsg.NewPtrApiVersionsRequest(), 0).(*kmsg.ApiVersionsResponse); got.ErrorCode != 0 {
		t.Fatalf("retry at v0: %d", got.ErrorCode)
	}
}

// A Metadata request pipelined behind a request still waiting is answered
// with the cluster as it is when its turn comes, as Kafka, which handles a
// connection's requests one at a time, would answer it: here a topic
// created while a long-polling Fetch ahead of it waits is in the answer.
func TestPipelinedMetadataIsAnsweredInItsTurn(t *testing.T) {
	c := clustertest.Start(t)
	adm := c.Admin(t)
	if _, err := adm.CreateTopic(ctxT(t), 1, 1, nil, "quiet"); err != nil {
		t.Fatal(err)
	}
	td, err := adm.ListTopics(ctxT(t), "quiet")
	if err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, c)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.ReplicaID, fetch.MaxWaitMillis, fetch.MinBytes, fetch.MaxBytes = -1, 2000, 1, 1<<20
	ft := kmsg.NewFetchRequestTopic()
	ft.TopicID = td["quiet"].ID
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes, fp.CurrentLeaderEpoch, fp.LastFetchedEpoch = 0, 0, 1<<20, -1, -1
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	fetch.SessionEpoch = -1
	rc.send(t, fetch, 13) // parks: the partition is empty
	md := kmsg.NewPtrMetadataRequest()
	rc.send(t, md, 12) // all topics
	if _, err := adm.CreateTopic(ctxT(t), 1, 1, nil, "created-meanwhile"); err != nil {
		t.Fatal(err)
	}
	rc.receive(t, fetch, 13, 1)
	resp := rc.receive(t, md, 12, 2).(*kmsg.MetadataResponse)
	var names []string
	for _, mt := range resp.Topics {
		if mt.Topic != nil {
			names = append(names, *mt.Topic)
		}
	}
	if !slices.Contains(names, "created-meanwhile") {
		t.Errorf("pipelined Metadata answered with topics %v: the cluster as it was when the request was read", names)
	}
}
