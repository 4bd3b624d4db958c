package record

// Kafka's varints are zigzag-encoded signed integers in LEB128 groups of 7
// bits, least significant first: at most 5 bytes for an int32 ("varint")
// and 10 for an int64 ("varlong"). Decoders here reject longer encodings and
// encodings whose last byte carries bits beyond the type's width; Kafka's
// Java reader ignores such bits, but no encoder produces them.

const (
	maxVarintLen  = 5
	maxVarlongLen = 10
)

// readVarint decodes a varint at the start of b. n > 0 is the number of bytes
// used; n == 0 means b ends inside the varint; n < 0 means the encoding is
// too long or overflows 32 bits.
func readVarint(b []byte) (v int32, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		x := uint32(b[0])
		return int32(x>>1) ^ -int32(x&1), 1
	}
	var x uint32
	for i := 0; i < maxVarintLen; i++ {
		if i >= len(b) {
			return 0, 0
		}
		c := b[i]
		if c < 0x80 {
			if i == maxVarintLen-1 && c > 0x0f {
				return 0, -1
			}
			x |= uint32(c) << (7 * i)
			return int32(x>>1) ^ -int32(x&1), i + 1
		}
		x |= uint32(c&0x7f) << (7 * i)
	}
	return 0, -1
}

// readVarlong is readVarint for 64-bit values (at most 10 bytes).
func readVarlong(b []byte) (v int64, n int) {
	if len(b) > 0 && b[0] < 0x80 {
		x := uint64(b[0])
		return int64(x>>1) ^ -int64(x&1), 1
	}
	var x uint64
	for i := 0; i < maxVarlongLen; i++ {
		if i >= len(b) {
			return 0, 0
		}
		c := b[i]
		if c < 0x80 {
			if i == maxVarlongLen-1 && c > 0x01 {
				return 0, -1
			}
			x |= uint64(c) << (7 * i)
			return int64(x>>1) ^ -int64(x&1), i + 1
		}
		x |= uint64(c&0x7f) << (7 * i)
	}
	return 0, -1
}

// appendVarint appends v as a varint.
func appendVarint(dst []byte, v int32) []byte {
	return appendUvarint(dst, uint64(uint32(v<<1)^uint32(v>>31)))
}

// appendVarlong appends v as a varlong.
func appendVarlong(dst []byte, v int64) []byte {
	return appendUvarint(dst, uint64(v<<1)^uint64(v>>63))
}

func appendUvarint(dst []byte, x uint64) []byte {
	for x >= 0x80 {
		dst = append(dst, byte(x)|0x80)
		x >>= 7
	}
	return append(dst, byte(x))
}

// sizeVarint is the encoded size of v as a varint.
func sizeVarint(v int32) int {
	x := uint32(v<<1) ^ uint32(v>>31)
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// sizeVarlong is the encoded size of v as a varlong.
func sizeVarlong(v int64) int {
	x := uint64(v<<1) ^ uint64(v>>63)
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
