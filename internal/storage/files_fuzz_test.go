package storage

import (
	"maps"
	"reflect"
	"slices"
	"testing"
)

// The small text files of a log directory are read back after crashes and
// by hand edits: a decoder must refuse what it cannot read, never panic, and
// whatever it accepts must survive being written and read again unchanged.

// readsBack decodes data; what decode accepts must decode again, equal, from
// what encode writes of it.
func readsBack[T any](t *testing.T, data []byte, decode func([]byte) (T, error), encode func(T) []byte, equal func(a, b T) bool) (T, bool) {
	v, err := decode(data)
	if err != nil {
		return v, false
	}
	again, err := decode(encode(v))
	if err != nil {
		t.Fatalf("cannot read back %v: %v", v, err)
	}
	if !equal(v, again) {
		t.Fatalf("read back %v, wrote %v", again, v)
	}
	return v, true
}

func FuzzOffsetCheckpoint(f *testing.F) {
	f.Add(encodeOffsetCheckpoint(map[TopicPartition]int64{{"orders", 0}: 42, {"a-b-c", 7}: -1}))
	f.Add([]byte("0\n0\n"))
	f.Add([]byte("0\n2\nt 1 5\nt 1 6\n"))
	f.Add([]byte("0\n1\nt +3 9223372036854775807\n"))
	f.Add([]byte("1\n1\nt 0 0"))
	f.Fuzz(func(t *testing.T, data []byte) {
		readsBack(t, data, decodeOffsetCheckpoint, encodeOffsetCheckpoint, maps.Equal)
	})
}

func FuzzEpochCheckpoint(f *testing.F) {
	f.Add(encodeEpochCheckpoint([]epochEntry{{0, 0}, {3, 100}, {4, 100}}))
	f.Add([]byte("0\n2\n1 5\n1 6\n"))
	f.Add([]byte("0\n1\n-1 0\n"))
	f.Add([]byte("0\n1\n2147483648 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, ok := readsBack(t, data, decodeEpochCheckpoint, encodeEpochCheckpoint, slices.Equal)
		if !ok {
			return
		}
		for i, e := range entries {
			if e.epoch < 0 || e.startOffset < 0 || i > 0 && (e.epoch <= entries[i-1].epoch || e.startOffset < entries[i-1].startOffset) {
				t.Fatalf("accepted %v: entry %d is negative or out of order", entries, i)
			}
		}
	})
}

func FuzzPartitionMetadata(f *testing.F) {
	f.Add(encodePartitionMetadata([16]byte{1, 2, 3, 255}))
	f.Add([]byte("version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n"))
	f.Add([]byte("version: 1\ntopic_id: x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		readsBack(t, data, decodePartitionMetadata, encodePartitionMetadata, func(a, b [16]byte) bool { return a == b })
	})
}

func FuzzMeta(f *testing.F) {
	f.Add(encodeMeta(Meta{Version: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qg", NodeID: 3, DirectoryID: [16]byte{9}, Extra: map[string]string{"x": "y=z"}}))
	f.Add([]byte("version=0\nbroker.id=2\n"))
	f.Add([]byte("! comment\n  version = 1 \n=v\n"))
	f.Add([]byte("version=1\ndirectory.id=bad\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		readsBack(t, data, decodeMeta, encodeMeta, func(a, b Meta) bool { return reflect.DeepEqual(a, b) })
	})
}

func FuzzPartitionDir(f *testing.F) {
	for _, s := range []string{"orders-0", "a-b-c-12", "-1", "t-", "t-01", "t--1", "t-2147483648", "__consumer_offsets-49"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		tp, ok := parsePartitionDir(name)
		if ok && (tp.String() != name || tp.Partition < 0 || tp.Topic == "") {
			t.Fatalf("%q parsed as %+v", name, tp)
		}
	})
}
