package group

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Record formats on __consumer_offsets, Kafka's own (see doc.go for the
// layouts). The key's leading int16 says what the record is; the value's
// leading int16 is the value's version. A null value is a tombstone.
const (
	offsetKeyVersion = 1 // OffsetCommitKey as Kafka 3.x/4.x writes it (0 is read too)
	groupKeyVersion  = 2 // GroupMetadataKey

	offsetValueVersion        = 3 // OffsetCommitValue without expire timestamp
	offsetValueVersionExpire  = 1 // OffsetCommitValue with expire timestamp (OffsetCommit v2–v4 retention)
	groupValueVersion         = 3 // GroupMetadataValue (KIP-345 instance ids)
	maxOffsetValueVersion     = 4
	maxGroupMetadataValueVers = 4
)

// rec is one record to write: a key and a value, nil value = tombstone.
type rec struct {
	key, value []byte
}

// tp names a partition of a topic whose offset a group commits.
type tp struct {
	topic     string
	partition int32
}

// offset is a committed offset as the coordinator keeps it.
type offset struct {
	offset      int64
	leaderEpoch int32  // -1 when the client sent none
	metadata    string // "" when the client sent null
	commitTime  int64  // ms since epoch, when the coordinator accepted it
	expireTime  int64  // ms since epoch; -1 unless an OffsetCommit v1–v4 client asked for a retention
}

func offsetKey(group string, t tp) []byte {
	k := kmsg.OffsetCommitKey{Version: offsetKeyVersion, Group: group, Topic: t.topic, Partition: t.partition}
	return k.AppendTo(make([]byte, 0, 2+2+len(group)+2+len(t.topic)+4))
}

func offsetValue(o *offset) []byte {
	v := kmsg.NewOffsetCommitValue()
	v.Version = offsetValueVersion
	if o.expireTime >= 0 {
		v.Version = offsetValueVersionExpire
		v.ExpireTimestamp = o.expireTime
	}
	v.Offset, v.LeaderEpoch, v.Metadata, v.CommitTimestamp = o.offset, o.leaderEpoch, o.metadata, o.commitTime
	return v.AppendTo(make([]byte, 0, 2+8+4+2+len(o.metadata)+8+8))
}

func groupKey(group string) []byte {
	k := kmsg.GroupMetadataKey{Version: groupKeyVersion, Group: group}
	return k.AppendTo(make([]byte, 0, 4+len(group)))
}

// keyKind is what a __consumer_offsets key holds.
type keyKind int8

const (
	keyOffset keyKind = iota
	keyGroup
	keyOther // a newer record type (KIP-848 consumer groups, share groups, …)
)

// decodedKey is a parsed key: the group, and for offsets the partition.
type decodedKey struct {
	kind  keyKind
	group string
	tp    tp
}

var errShortKey = errors.New("record key shorter than its version")

// decodeKey parses a key. Keys with a version this coordinator does not
// know are keyOther, not an error: they belong to group types it does not
// serve, and the loader skips them.
func decodeKey(b []byte) (decodedKey, error) {
	if len(b) < 2 {
		return decodedKey{}, errShortKey
	}
	switch v := int16(binary.BigEndian.Uint16(b)); v {
	case 0, 1:
		var k kmsg.OffsetCommitKey
		if err := k.ReadFrom(b); err != nil {
			return decodedKey{}, fmt.Errorf("offset commit key: %w", err)
		}
		return decodedKey{kind: keyOffset, group: k.Group, tp: tp{k.Topic, k.Partition}}, nil
	case 2:
		var k kmsg.GroupMetadataKey
		if err := k.ReadFrom(b); err != nil {
			return decodedKey{}, fmt.Errorf("group metadata key: %w", err)
		}
		return decodedKey{kind: keyGroup, group: k.Group}, nil
	default:
		return decodedKey{kind: keyOther}, nil
	}
}

// errNewerVersion marks a value written by a newer coordinator.
var errNewerVersion = errors.New("value version newer than this coordinator knows")

// decodeOffsetValue parses a non-null OffsetCommitValue.
func decodeOffsetValue(b []byte) (offset, error) {
	if len(b) < 2 {
		return offset{}, errShortKey
	}
	ver := int16(binary.BigEndian.Uint16(b))
	if ver < 0 || ver > maxOffsetValueVersion {
		return offset{}, fmt.Errorf("offset commit value version %d: %w", ver, errNewerVersion)
	}
	if ver >= 4 && !flexOffsetValueOK(b[2:]) {
		return offset{}, errors.New("malformed flexible offset commit value")
	}
	var v kmsg.OffsetCommitValue
	if err := v.ReadFrom(b); err != nil {
		return offset{}, fmt.Errorf("offset commit value v%d: %w", ver, err)
	}
	o := offset{offset: v.Offset, leaderEpoch: -1, metadata: v.Metadata, commitTime: v.CommitTimestamp, expireTime: -1}
	if ver >= 3 {
		o.leaderEpoch = v.LeaderEpoch
	}
	if ver == 1 && v.ExpireTimestamp >= 0 {
		o.expireTime = v.ExpireTimestamp
	}
	return o, nil
}

// decodeGroupValue parses a non-null GroupMetadataValue.
func decodeGroupValue(b []byte) (*kmsg.GroupMetadataValue, error) {
	if len(b) < 2 {
		return nil, errShortKey
	}
	ver := int16(binary.BigEndian.Uint16(b))
	if ver < 0 || ver > maxGroupMetadataValueVers {
		return nil, fmt.Errorf("group metadata value version %d: %w", ver, errNewerVersion)
	}
	if ver >= 4 && !flexGroupValueOK(b[2:]) {
		return nil, errors.New("malformed flexible group metadata value")
	}
	v := new(kmsg.GroupMetadataValue)
	if err := v.ReadFrom(b); err != nil {
		return nil, fmt.Errorf("group metadata value v%d: %w", ver, err)
	}
	return v, nil
}
