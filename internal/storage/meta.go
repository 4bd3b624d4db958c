package storage

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// TopicPartition names one partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String is the partition's directory name, "<topic>-<partition>".
func (tp TopicPartition) String() string {
	return tp.Topic + "-" + strconv.FormatInt(int64(tp.Partition), 10)
}

// parsePartitionDir parses a directory name "<topic>-<partition>". Topic
// names may themselves contain '-', so the split is at the last one.
func parsePartitionDir(name string) (TopicPartition, bool) {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return TopicPartition{}, false
	}
	p, err := strconv.ParseInt(name[i+1:], 10, 32)
	if err != nil || p < 0 || strconv.FormatInt(p, 10) != name[i+1:] {
		return TopicPartition{}, false
	}
	return TopicPartition{Topic: name[:i], Partition: int32(p)}, true
}

func sortedPartitions[V any](m map[TopicPartition]V) []TopicPartition {
	return slices.SortedFunc(maps.Keys(m), func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition) - int(b.Partition)
	})
}

// EncodeUUID renders a 16-byte id as Kafka's Uuid.toString does: URL-safe
// base64 without padding (22 characters).
func EncodeUUID(id [16]byte) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// DecodeUUID parses Kafka's textual form of a Uuid.
func DecodeUUID(s string) ([16]byte, error) {
	var id [16]byte
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return id, fmt.Errorf("storage: bad uuid %q", s)
	}
	copy(id[:], b)
	return id, nil
}

// partition.metadata (KIP-516), in the partition directory:
//
//	version: 0
//	topic_id: <base64 uuid>

const partitionMetadataFile = "partition.metadata"

func encodePartitionMetadata(topicID [16]byte) []byte {
	return []byte("version: 0\ntopic_id: " + EncodeUUID(topicID) + "\n")
}

func decodePartitionMetadata(data []byte) ([16]byte, error) {
	var id [16]byte
	var version, topic string
	for line := range strings.SplitSeq(string(data), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "version":
			version = strings.TrimSpace(v)
		case "topic_id":
			topic = strings.TrimSpace(v)
		}
	}
	if version != "0" {
		return id, fmt.Errorf("storage: partition.metadata version %q", version)
	}
	return DecodeUUID(topic)
}

// Meta is the content of a log directory's meta.properties (KRaft, version
// 1): which cluster and node the directory belongs to.
type Meta struct {
	Version     int      // 1 for KRaft directories
	ClusterID   string   // cluster.id
	NodeID      int32    // node.id
	DirectoryID [16]byte // directory.id (KIP-858)
	// Extra holds keys samsa does not interpret, kept so that rewriting the
	// file loses nothing.
	Extra map[string]string
}

const metaFile = "meta.properties"

// encodeMeta renders meta.properties in java.util.Properties form, keys
// sorted.
func encodeMeta(m Meta) []byte {
	kv := map[string]string{
		"version":      strconv.Itoa(m.Version),
		"cluster.id":   m.ClusterID,
		"node.id":      strconv.FormatInt(int64(m.NodeID), 10),
		"directory.id": EncodeUUID(m.DirectoryID),
	}
	for k, v := range m.Extra {
		if _, ok := kv[k]; !ok {
			kv[k] = v
		}
	}
	var b bytes.Buffer
	b.WriteString("#\n#Written by samsa\n")
	for _, k := range slices.Sorted(maps.Keys(kv)) {
		fmt.Fprintf(&b, "%s=%s\n", k, kv[k])
	}
	return b.Bytes()
}

var errBadMeta = errors.New("storage: malformed meta.properties")

// decodeMeta parses meta.properties: "key=value" lines, '#' and '!'
// comments.
func decodeMeta(data []byte) (Meta, error) {
	m := Meta{Extra: map[string]string{}}
	var haveVersion bool
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return m, fmt.Errorf("%w: line %q", errBadMeta, line)
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch k {
		case "version":
			n, err := strconv.Atoi(v)
			if err != nil {
				return m, fmt.Errorf("%w: version %q", errBadMeta, v)
			}
			m.Version, haveVersion = n, true
		case "cluster.id":
			m.ClusterID = v
		case "node.id", "broker.id":
			n, err := strconv.ParseInt(v, 10, 32)
			if err != nil {
				return m, fmt.Errorf("%w: %s %q", errBadMeta, k, v)
			}
			m.NodeID = int32(n)
		case "directory.id":
			id, err := DecodeUUID(v)
			if err != nil {
				return m, fmt.Errorf("%w: %v", errBadMeta, err)
			}
			m.DirectoryID = id
		default:
			m.Extra[k] = v
		}
	}
	if !haveVersion {
		return m, fmt.Errorf("%w: no version", errBadMeta)
	}
	return m, nil
}

// readMeta reads meta.properties; ok is false when the file does not exist.
func readMeta(path string) (m Meta, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Meta{}, false, nil
	}
	if err != nil {
		return Meta{}, false, err
	}
	m, err = decodeMeta(data)
	return m, err == nil, err
}

// ReadMetaFile reads dir's meta.properties without opening the directory
// (kafka-storage.sh format and info); ok is false when there is none.
func ReadMetaFile(dir string) (m Meta, ok bool, err error) {
	return readMeta(filepath.Join(dir, metaFile))
}

// WriteMetaFile writes dir's meta.properties atomically, creating dir if
// need be. Only for a directory no running Dir has open.
func WriteMetaFile(dir string, m Meta) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, metaFile), encodeMeta(m))
}
