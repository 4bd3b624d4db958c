package group

import (
	"math"
	"unicode/utf16"
	"unicode/utf8"
)

// PartitionFor returns the __consumer_offsets partition that holds groupID:
// abs(javaStringHash(groupID)) % numPartitions, with Kafka's Utils.abs,
// which maps math.MinInt32 to 0 rather than leaving it negative. Every
// broker and every Kafka client computes the same number, which is what
// lets FindCoordinator answers and the data on disk agree.
//
// numPartitions must be positive.
func PartitionFor(groupID string, numPartitions int32) int32 {
	h := javaStringHash(groupID)
	if h == math.MinInt32 {
		h = 0
	} else if h < 0 {
		h = -h
	}
	return h % numPartitions
}

// javaStringHash is Java's String.hashCode: s[0]*31^(n-1) + … + s[n-1] over
// the UTF-16 code units of the string, in wrapping int32 arithmetic.
//
// Group ids arrive as UTF-8 bytes. Java decodes them replacing each
// malformed sequence with U+FFFD; Go's range loop does the same byte by
// byte, which matches Java for every valid id and for the common malformed
// ones (a lone continuation or truncated sequence). Ids that differ only in
// how a malformed sequence is split may hash differently from Java; no
// client produces them.
func javaStringHash(s string) int32 {
	var h int32
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r < 0x10000 {
			h = 31*h + int32(r)
			continue
		}
		hi, lo := utf16.EncodeRune(r)
		h = 31*h + int32(hi)
		h = 31*h + int32(lo)
	}
	return h
}
