package api

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/samsa-io/samsa/internal/wire"
)

// flatten concatenates a response's chunks, reading file chunks.
func flatten(t *testing.T, chunks []wire.Chunk) []byte {
	t.Helper()
	var out bytes.Buffer
	for _, c := range chunks {
		if c.File == nil {
			out.Write(c.Bytes)
			continue
		}
		b := make([]byte, c.Size)
		if _, err := c.File.ReadAt(b, c.Pos); err != nil {
			t.Fatal(err)
		}
		out.Write(b)
	}
	return out.Bytes()
}

func TestFetchEncodingMatchesKafkaSchema(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "seg.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fileRecords := []byte("0123456789-from-a-file")
	f.Write([]byte("junk-before"))
	f.Write(fileRecords)
	rack := "r1"

	for v := int16(4); v <= (&kmsg.FetchResponse{}).MaxVersion(); v++ {
		resp := &fetchResp{
			version:   v,
			errorCode: 0,
			sessionID: 77,
			topics: []fetchRespTopic{
				{name: "alpha", id: [16]byte{1}, partitions: []fetchRespPartition{
					{partition: 0, highWatermark: 10, lastStableOffset: 9, logStartOffset: 2,
						records:        wire.Chunk{File: f, Pos: 11, Size: int64(len(fileRecords))},
						aborted:        []abortedTxn{{producerID: 5, firstOffset: 3}},
						divergingEpoch: -1, leaderID: -1},
					{partition: 1, errorCode: 6, highWatermark: -1, lastStableOffset: -1, logStartOffset: -1,
						divergingEpoch: 3, divergingEnd: 42, leaderID: 2, leaderEpoch: 7},
				}},
				{name: "beta", id: [16]byte{2}, partitions: []fetchRespPartition{
					{partition: 3, highWatermark: 1, lastStableOffset: 1, logStartOffset: 0,
						records: wire.Chunk{Bytes: []byte("inline")}, divergingEpoch: -1, leaderID: -1},
				}},
			},
			endpoints: []fetchRespEndpoint{{nodeID: 2, host: "h2", port: 9093, rack: &rack}},
		}
		frame := flatten(t, encodeFetch(nil, 1234, resp))
		if got := int32(binary.BigEndian.Uint32(frame)); got != 1234 {
			t.Fatalf("v%d: correlation id %d", v, got)
		}
		body := frame[4:]
		if v >= 12 {
			if body[0] != 0 {
				t.Fatalf("v%d: response header tags %d", v, body[0])
			}
			body = body[1:]
		}
		var got kmsg.FetchResponse
		got.Version = v
		if err := got.ReadFrom(body); err != nil {
			t.Fatalf("v%d: kmsg cannot decode our response: %v", v, err)
		}
		if v >= 7 && got.SessionID != 77 {
			t.Errorf("v%d: session id %d", v, got.SessionID)
		}
		if len(got.Topics) != 2 || len(got.Topics[0].Partitions) != 2 {
			t.Fatalf("v%d: shape %+v", v, got.Topics)
		}
		if v < 13 && got.Topics[1].Topic != "beta" || v >= 13 && got.Topics[1].TopicID != [16]byte{2} {
			t.Errorf("v%d: topic naming wrong: %+v", v, got.Topics[1])
		}
		p0, p1 := got.Topics[0].Partitions[0], got.Topics[0].Partitions[1]
		if !bytes.Equal(p0.RecordBatches, fileRecords) || p0.HighWatermark != 10 || p0.LastStableOffset != 9 {
			t.Errorf("v%d: partition 0 = %+v", v, p0)
		}
		if v >= 5 && p0.LogStartOffset != 2 {
			t.Errorf("v%d: log start %d", v, p0.LogStartOffset)
		}
		if len(p0.AbortedTransactions) != 1 || p0.AbortedTransactions[0].FirstOffset != 3 {
			t.Errorf("v%d: aborted %+v", v, p0.AbortedTransactions)
		}
		if p1.ErrorCode != 6 || p1.AbortedTransactions != nil {
			t.Errorf("v%d: partition 1 = %+v", v, p1)
		}
		if v >= 12 {
			if p1.DivergingEpoch.Epoch != 3 || p1.DivergingEpoch.EndOffset != 42 {
				t.Errorf("v%d: diverging epoch %+v", v, p1.DivergingEpoch)
			}
			if p1.CurrentLeader.LeaderID != 2 || p1.CurrentLeader.LeaderEpoch != 7 {
				t.Errorf("v%d: current leader %+v", v, p1.CurrentLeader)
			}
			if p0.DivergingEpoch.Epoch != -1 || p0.CurrentLeader.LeaderID != -1 {
				t.Errorf("v%d: untagged partition carries tags: %+v %+v", v, p0.DivergingEpoch, p0.CurrentLeader)
			}
		}
		if v >= 16 && (len(got.Brokers) != 1 || got.Brokers[0].Host != "h2" || *got.Brokers[0].Rack != "r1") {
			t.Errorf("v%d: node endpoints %+v", v, got.Brokers)
		}
		if string(got.Topics[1].Partitions[0].RecordBatches) != "inline" {
			t.Errorf("v%d: inline records lost", v)
		}
	}
}
