package e2e

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Hand-made protocol bytes, for what a well-behaved client never sends:
// raw frames on a socket, and record batches whose producer id, sequence
// and CRC the test chooses.

// rawConn is a TCP connection to the broker on which the test writes frames
// byte by byte.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	corr int32 // the last correlation id used
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn}
}

// write writes bytes as they are.
func (c *rawConn) write(b []byte) {
	c.t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// sizePrefix is a frame's 4-byte length.
func sizePrefix(n int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(n)) }

// frame returns the bytes of a complete request: size, header, body.
func (c *rawConn) frame(req kmsg.Request) []byte {
	c.corr++
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("e2e-raw")).AppendRequest(nil, req, c.corr)
}

// roundTrip sends req at the version it carries and decodes the response.
func (c *rawConn) roundTrip(req kmsg.Request) kmsg.Response {
	c.t.Helper()
	c.write(c.frame(req))
	body, err := c.readFrame(10 * time.Second)
	if err != nil {
		c.t.Fatalf("%s v%d: no response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return c.decode(req, body)
}

// decode checks a response frame's correlation id and decodes its body as
// the response to req at req's version.
func (c *rawConn) decode(req kmsg.Request, body []byte) kmsg.Response {
	c.t.Helper()
	if len(body) < 4 || int32(binary.BigEndian.Uint32(body)) != c.corr {
		c.t.Fatalf("response %x does not carry correlation id %d", body[:min(len(body), 8)], c.corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	resp.SetVersion(req.GetVersion())
	// Flexible responses carry header tags, except ApiVersions' (KIP-511).
	if resp.IsFlexible() && req.Key() != kmsg.ApiVersions.Int16() {
		if len(body) == 0 || body[0] != 0 {
			c.t.Fatalf("unexpected response header tags %x", body[:min(len(body), 4)])
		}
		body = body[1:]
	}
	if err := resp.ReadFrom(body); err != nil {
		c.t.Fatalf("decode %s v%d response: %v", kmsg.NameForKey(req.Key()), req.GetVersion(), err)
	}
	return resp
}

// readFrame reads one response frame, waiting at most limit.
func (c *rawConn) readFrame(limit time.Duration) ([]byte, error) {
	c.conn.SetReadDeadline(time.Now().Add(limit))
	var size [4]byte
	if _, err := io.ReadFull(c.conn, size[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(size[:])
	if n > 64<<20 {
		return nil, fmt.Errorf("response frame of %d bytes", n)
	}
	body := make([]byte, n)
	_, err := io.ReadFull(c.conn, body)
	return body, err
}

// expectClosed fails the test unless the broker closes the connection
// within limit without sending a byte.
func (c *rawConn) expectClosed(limit time.Duration) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(limit))
	var buf [64]byte
	n, err := c.conn.Read(buf[:])
	switch {
	case n > 0:
		c.t.Fatalf("the broker answered %x instead of closing the connection", buf[:n])
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), isReset(err):
	case isTimeout(err):
		c.t.Fatalf("the connection is still open after %v", limit)
	default:
		c.t.Fatalf("read: %v", err)
	}
}

// expectOpen fails the test if the broker closed the connection or sent
// something within limit.
func (c *rawConn) expectOpen(limit time.Duration) {
	c.t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(limit))
	var buf [64]byte
	n, err := c.conn.Read(buf[:])
	if n > 0 || !isTimeout(err) {
		c.t.Fatalf("the connection should be open and quiet: read %d bytes, %v", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isReset reports a read that failed because the peer reset the connection
// (it closed with our bytes unread), as opposed to a timeout.
func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

// batch describes a v2 record batch to encode.
type batch struct {
	producerID int64 // -1 for none
	epoch      int16
	sequence   int32 // base sequence, -1 for none
	timestamp  int64 // ms since epoch, every record's
	values     []string
}

// encode returns the batch in the wire format with a correct CRC-32C.
func (s batch) encode() []byte {
	var recs []byte
	for i, v := range s.values {
		r := kmsg.Record{OffsetDelta: int32(i), Value: []byte(v)}
		body := r.AppendTo(nil)[1:] // drop the placeholder length (varint 0, one byte)
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := kmsg.RecordBatch{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		LastOffsetDelta:      int32(len(s.values) - 1),
		FirstTimestamp:       s.timestamp,
		MaxTimestamp:         s.timestamp,
		ProducerID:           s.producerID,
		ProducerEpoch:        s.epoch,
		FirstSequence:        s.sequence,
		NumRecords:           int32(len(s.values)),
		Records:              recs,
	}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	// The CRC covers everything from the attributes on.
	crc := crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli))
	binary.BigEndian.PutUint32(out[17:], crc)
	return out
}

// produceRequest wraps one batch for one partition, acks=all.
func produceRequest(topic string, partition int32, records []byte) *kmsg.ProduceRequest {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 9
	req.Acks = -1
	req.TimeoutMillis = 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = records
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return req
}

// partitionResult returns the only partition answer of a Produce response.
func partitionResult(t testing.TB, resp *kmsg.ProduceResponse) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	if len(resp.Topics) != 1 || len(resp.Topics[0].Partitions) != 1 {
		t.Fatalf("produce response with %d topics, want one topic with one partition", len(resp.Topics))
	}
	return resp.Topics[0].Partitions[0]
}

// produceBatch sends one hand-made batch on a new connection (Produce v9,
// which names topics; franz-go would pick v13, which takes topic ids) and
// returns the partition's answer.
func produceBatch(t testing.TB, addr, topic string, partition int32, b batch) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	c := dialRaw(t, addr)
	defer c.conn.Close()
	return partitionResult(t, c.roundTrip(produceRequest(topic, partition, b.encode())).(*kmsg.ProduceResponse))
}

// initProducerID asks for an idempotent producer id and epoch.
func initProducerID(t testing.TB, cl *kgo.Client) (int64, int16) {
	t.Helper()
	req := kmsg.NewPtrInitProducerIDRequest()
	req.TransactionTimeoutMillis = 60000
	resp, err := req.RequestWith(testContext(t, 30*time.Second), cl)
	if err == nil && resp.ErrorCode != 0 {
		err = fmt.Errorf("error code %d", resp.ErrorCode)
	}
	if err != nil {
		t.Fatalf("InitProducerId: %v", err)
	}
	return resp.ProducerID, resp.ProducerEpoch
}
