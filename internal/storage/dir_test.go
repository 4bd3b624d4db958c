package storage

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestOffsetCheckpointFormat(t *testing.T) {
	m := map[TopicPartition]int64{{"b", 1}: 7, {"a-b", 0}: 12, {"a-b", 10}: 0}
	data := encodeOffsetCheckpoint(m)
	if want := "0\n3\na-b 0 12\na-b 10 0\nb 1 7\n"; string(data) != want {
		t.Fatalf("encoded %q, want %q", data, want)
	}
	got, err := decodeOffsetCheckpoint(data)
	if err != nil || !maps.Equal(got, m) {
		t.Fatalf("decoded %v, %v", got, err)
	}
	for _, bad := range []string{"", "1\n0\n", "0\n2\na 0 1\n", "0\n1\na 0\n", "0\n1\na x 1\n", "0\n1\na -1 1\n"} {
		if _, err := decodeOffsetCheckpoint([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestEpochCheckpointFormat(t *testing.T) {
	e := []epochEntry{{0, 0}, {3, 150}}
	data := encodeEpochCheckpoint(e)
	if string(data) != "0\n2\n0 0\n3 150\n" {
		t.Fatalf("encoded %q", data)
	}
	got, err := decodeEpochCheckpoint(data)
	if err != nil || !slices.Equal(got, e) {
		t.Fatalf("decoded %v, %v", got, err)
	}
	for _, bad := range []string{"0\n2\n3 0\n1 5\n", "0\n1\n1\n", "0\n1\n-1 0\n"} {
		if _, err := decodeEpochCheckpoint([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestMetaProperties(t *testing.T) {
	path := t.TempDir()
	d := openDir(t, path)
	if _, ok := d.Meta(); ok {
		t.Fatal("new directory has meta.properties")
	}
	m := Meta{Version: 1, ClusterID: "MkU3OEVBNTcwNTJENDM2Qk", NodeID: 3, DirectoryID: [16]byte{9: 1}, Extra: map[string]string{"custom.key": "x"}}
	if err := d.SetMeta(m); err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(filepath.Join(path, metaFile))
	for _, line := range []string{"version=1", "cluster.id=MkU3OEVBNTcwNTJENDM2Qk", "node.id=3", "directory.id=AAAAAAAAAAAAAQAAAAAAAA", "custom.key=x"} {
		if !strings.Contains(string(text), line+"\n") {
			t.Errorf("meta.properties lacks %q:\n%s", line, text)
		}
	}
	d.Close()
	d = openDir(t, path)
	got, ok := d.Meta()
	if !ok || got.ClusterID != m.ClusterID || got.NodeID != 3 || got.DirectoryID != m.DirectoryID || got.Extra["custom.key"] != "x" {
		t.Fatalf("reloaded %+v", got)
	}
	kafka := "#\n#Thu Jan 01 00:00:00 UTC 2025\nnode.id=1\ndirectory.id=J8aAPcfLQt2bqs1JT_rMgQ\nversion=1\ncluster.id=4L6g3nShT-eMCtK--X86sw\n"
	if m, err := decodeMeta([]byte(kafka)); err != nil || m.NodeID != 1 || m.ClusterID != "4L6g3nShT-eMCtK--X86sw" {
		t.Fatalf("Kafka's meta.properties: %+v, %v", m, err)
	}
}

func TestUUIDText(t *testing.T) {
	id := [16]byte{0xff, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 0xfe}
	s := EncodeUUID(id)
	if len(s) != 22 || strings.ContainsAny(s, "+/=") {
		t.Fatalf("%q is not Kafka's Uuid form", s)
	}
	if back, err := DecodeUUID(s); err != nil || back != id {
		t.Fatalf("round trip: %v %v", back, err)
	}
	if _, err := DecodeUUID("short"); err == nil {
		t.Fatal("accepted a short id")
	}
}

func TestParsePartitionDir(t *testing.T) {
	for name, want := range map[string]TopicPartition{
		"orders-0":              {"orders", 0},
		"my-topic-12":           {"my-topic", 12},
		"__consumer_offsets-49": {"__consumer_offsets", 49},
	} {
		if got, ok := parsePartitionDir(name); !ok || got != want {
			t.Errorf("%q → %v %v", name, got, ok)
		}
	}
	for _, bad := range []string{"orders", "-1", "orders-", "orders-x", "orders-01"} {
		if tp, ok := parsePartitionDir(bad); ok {
			t.Errorf("%q parsed as %v", bad, tp)
		}
	}
}

func TestDirLockAndCleanMarker(t *testing.T) {
	path := t.TempDir()
	d := openDir(t, path)
	if d.Clean() {
		t.Fatal("a new directory reports a clean previous shutdown")
	}
	if _, err := OpenDir(path, DirOptions{}); !errors.Is(err, ErrDirLocked) {
		t.Fatalf("second OpenDir: %v", err)
	}
	d.SetBrokerEpoch(42)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	marker, err := os.ReadFile(filepath.Join(path, cleanShutdownFile))
	if err != nil || string(marker) != `{"version":0,"brokerEpoch":42}` {
		t.Fatalf("marker %q, %v", marker, err)
	}
	d = openDir(t, path)
	if !d.Clean() || d.PreviousBrokerEpoch() != 42 {
		t.Fatalf("Clean %v epoch %d", d.Clean(), d.PreviousBrokerEpoch())
	}
	if _, err := os.Stat(filepath.Join(path, cleanShutdownFile)); !os.IsNotExist(err) {
		t.Fatal("the marker survives OpenDir: a crash now would look clean")
	}
}

func TestPartitionsAndTopicID(t *testing.T) {
	path := t.TempDir()
	d := openDir(t, path)
	cfg := testConfig()
	other := [16]byte{7}
	for _, tp := range []TopicPartition{{"a", 0}, {"a", 1}, {"b-c", 5}} {
		if _, err := d.OpenLog(tp, other, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := d.OpenLog(TopicPartition{"a", 0}, other, cfg); err == nil {
		t.Fatal("opened a log twice")
	}
	d.Close()
	os.Mkdir(filepath.Join(path, "junk"), 0o755)
	d = openDir(t, path)
	parts, err := d.Partitions()
	if err != nil || len(parts) != 3 {
		t.Fatalf("%v, %v", parts, err)
	}
	for _, p := range parts {
		if !p.HasTopicID || p.TopicID != other {
			t.Fatalf("%+v", p)
		}
	}
	meta, _ := os.ReadFile(filepath.Join(path, "b-c-5", partitionMetadataFile))
	if string(meta) != "version: 0\ntopic_id: "+EncodeUUID(other)+"\n" {
		t.Fatalf("partition.metadata %q", meta)
	}
	if _, err := d.OpenLog(TopicPartition{"a", 1}, testTopicID, cfg); !errors.Is(err, kerr.InconsistentTopicID) {
		t.Fatalf("opening with another topic id: %v", err)
	}
}

func TestDeleteLog(t *testing.T) {
	path := t.TempDir()
	d := openDir(t, path)
	l := openTestLog(t, d, testConfig())
	for i := 0; i < 50; i++ {
		appendOK(t, l, spec{n: 1, value: 300})
	}
	s, err := l.Read(0, 1<<62, 1000, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteLog(testTP); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted directory to go", func() bool {
		ents, _ := os.ReadDir(path)
		for _, e := range ents {
			if e.IsDir() {
				return false
			}
		}
		return true
	})
	buf := make([]byte, s.Size)
	if _, err := s.File.ReadAt(buf, s.Pos); err != nil {
		t.Fatalf("Slice of a deleted log: %v", err)
	}
	s.Release()
	ckpt, _ := readOffsetCheckpoint(filepath.Join(path, recoveryPointFile))
	if _, ok := ckpt[testTP]; ok {
		t.Fatal("deleted log still checkpointed")
	}
	if parts, _ := d.Partitions(); len(parts) != 0 {
		t.Fatalf("partitions after delete: %v", parts)
	}
	l = openTestLog(t, d, testConfig())
	if l.LogEndOffset() != 0 {
		t.Fatal("a recreated log kept old data")
	}
}

func TestCheckpointFiles(t *testing.T) {
	path := t.TempDir()
	d := openDir(t, path)
	l := openTestLog(t, d, testConfig())
	for i := 0; i < 30; i++ {
		appendOK(t, l, spec{n: 2, value: 300})
	}
	if _, err := l.DeleteRecordsBefore(7); err != nil {
		t.Fatal(err)
	}
	// An entry for a partition on disk but not open is kept.
	if err := writeFileAtomic(filepath.Join(path, recoveryPointFile), encodeOffsetCheckpoint(map[TopicPartition]int64{{"idle", 0}: 99})); err != nil {
		t.Fatal(err)
	}
	d.rpCkpt[TopicPartition{"idle", 0}] = 99
	before := l.RecoveryPoint() // the flusher may move it meanwhile
	if err := d.Checkpoint(); err != nil {
		t.Fatal(err)
	}
	after := l.RecoveryPoint()
	rp, _ := readOffsetCheckpoint(filepath.Join(path, recoveryPointFile))
	ls, _ := readOffsetCheckpoint(filepath.Join(path, logStartFile))
	if rp[TopicPartition{"idle", 0}] != 99 || rp[testTP] < before || rp[testTP] > after || ls[testTP] != 7 {
		t.Fatalf("recovery points %v (log's %d..%d), log starts %v", rp, before, after, ls)
	}
}

func TestHighWatermarkSurvivesAReopen(t *testing.T) {
	path := t.TempDir()
	d, err := OpenDir(path, DirOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l := openTestLog(t, d, testConfig())
	for i := 0; i < 5; i++ {
		appendOK(t, l, spec{n: 2, value: 10})
	}
	l.SetHighWatermark(6)
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	l = openTestLog(t, openDir(t, path), testConfig())
	if hw := l.CheckpointedHighWatermark(); hw != 6 {
		t.Fatalf("checkpointed high watermark after a reopen = %d, want 6", hw)
	}
}
