package api

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// The request guard decides, in time linear in the body, whether kmsg can
// read a request body, before kmsg's ReadFrom runs.
//
// Why: kmsg bounds array, string and bytes lengths by the bytes left, but
// its tagged-field loops ("for n := b.Uvarint(); n > 0; n--") keep counting
// down after the input runs out, every read then returning zero. A tag
// count of 2^32-1 in a 7-byte ApiVersions body keeps ReadFrom busy for
// minutes; every flexible version of every request has tag sections.
//
// How: the guard_gen_*.go files, written by go generate from kmsg's own
// readFrom code (internal/guardgen; the directive is in guard_test.go),
// hold the wire layout of every request at every version kmsg knows, as
// bodies of ops: fixed-width runs, varints, strings and bytes in each
// length encoding, array lengths followed by the element body, nullable
// structs, tag sections with the tags kmsg reads into fields. guardScan
// runs those ops over the body exactly as readFrom would read it, except
// that it stops at the first read that would fail where kmsg would carry on
// with an invalidated reader. So it accepts exactly the bodies ReadFrom
// decodes without error, and it costs O(len(body)):
//
//   - every op but an array consumes at least one byte or fails;
//   - an array's count is at most the bytes left (kmsg's own rule), and
//     each element consumes at least one byte (guardgen refuses layouts
//     with empty elements), so the elements read are at most the bytes;
//   - a tag section's count is at most half the bytes left, since each tag
//     takes at least a key byte and a size byte; a larger count is
//     rejected before any tag is read (kmsg would fail on it too, after
//     up to 2^32 turns of its loop);
//   - recursion depth is bounded by the nesting of the layouts, not by
//     the input.
//
// guardScan does not allocate unless it rejects.

// guardKind is what one op reads. Lengths and counts are read with the same
// integer conversions as kbin.Reader, so that a hostile value fails here
// exactly when it fails there.
type guardKind uint8

const (
	gFixed                 guardKind = iota // arg bytes
	gVarint                                 // zigzag varint, at most 5 bytes
	gVarlong                                // zigzag varint, at most 10 bytes
	gUvarint                                // unsigned varint, at most 5 bytes
	gString                                 // int16 length, must be ≥ 0
	gNullableString                         // int16 length, < 0 is null
	gCompactString                          // uvarint length+1, must be ≥ 1
	gCompactNullableString                  // uvarint length+1, 0 is null
	gBytes                                  // int32 length, -1 is empty, other negatives fail
	gNullableBytes                          // int32 length, < 0 is null
	gCompactBytes                           // uvarint length+1, 0 is empty
	gCompactNullableBytes                   // uvarint length+1, 0 is null
	gVarintBytes                            // zigzag varint length, < 0 is null
	gArrayLen                               // int32 element count, ≤ bytes left
	gCompactArrayLen                        // uvarint element count+1, ≤ bytes left
	gVarintArrayLen                         // zigzag varint element count, ≤ bytes left
	gArray                                  // body arg for each element counted by the op before
	gFixedArray                             // arg bytes for each element counted by the op before
	gTags                                   // a tagged-field section; arg indexes guardTagSets
	gNullableStruct                         // int8, then body arg unless it is -1
)

// guardOp is one read.
type guardOp struct {
	kind guardKind
	arg  uint16
}

// guardBody is the layout of one struct at one version.
type guardBody struct {
	name string // the first struct with this layout, as Request.Field[].Field
	ops  []guardOp
}

// guardTag is a tagged field kmsg reads into a struct field; its body is
// read from the tag's bytes alone.
type guardTag struct {
	key  uint32
	body uint16
}

// guardRequest is a request type: the body of each version kmsg knows.
type guardRequest struct {
	name     string
	versions []uint16
}

// guardError says why and where the guard rejected a body.
type guardError struct {
	request  string // the request type and version
	off      int    // byte offset in the request body
	in       string // the struct being read
	reason   string
	tagCount uint32 // the tag count, when that is what was too large
}

func (e *guardError) Error() string {
	// Layouts are shared between types; name the struct only if it is
	// the request's own.
	if typ, _, _ := strings.Cut(e.request, " "); strings.HasPrefix(e.in, typ+".") || strings.HasPrefix(e.in, typ+" ") {
		return fmt.Sprintf("malformed %s at byte %d, in %s: %s", e.request, e.off, e.in, e.reason)
	}
	return fmt.Sprintf("malformed %s at byte %d: %s", e.request, e.off, e.reason)
}

// guardRequestBody returns an error if kmsg cannot read body as version
// of request key; nil means ReadFrom will succeed and will take time
// linear in len(body). Bytes after the request are not an error here, as
// they are not for kmsg.
func guardRequestBody(key, version int16, body []byte) error {
	_, err := guardScan(key, version, body)
	return err
}

// guardScan reads body as guardRequestBody does and returns the number of
// bytes the request takes.
func guardScan(key, version int16, body []byte) (int, error) {
	if key < 0 || int(key) >= len(guardRequests) || guardRequests[key].name == "" {
		return 0, &guardError{request: fmt.Sprintf("request key %d", key), reason: "unknown to kmsg"}
	}
	r := &guardRequests[key]
	if version < 0 || int(version) >= len(r.versions) {
		return 0, &guardError{request: fmt.Sprintf("%s v%d", r.name, version), reason: "version unknown to kmsg"}
	}
	n, err := guardRun(body, 0, len(body), r.versions[version])
	if err != nil {
		err.(*guardError).request = fmt.Sprintf("%s v%d", r.name, version)
	}
	return n, err
}

// guardRun reads one struct with layout body from src[p:end], returning
// where it ends.
func guardRun(src []byte, p, end int, body uint16) (int, error) {
	var count int32 // the element count last read, as kmsg's l
	for _, op := range guardBodies[body].ops {
		start := p
		var l int // the bytes to skip after the op's prefix; < 0 as kbin reads it
		switch op.kind {
		case gFixed:
			if int(op.arg) > end-p {
				return p, guardShort(p, end, int(op.arg), body)
			}
			p += int(op.arg)
			continue
		case gVarint, gUvarint:
			n := guardUvarintLen(src[p:end])
			if n <= 0 {
				return p, guardBad(p, body, "bad varint")
			}
			p, l = p+n, 0
		case gVarlong:
			n := guardUvarlongLen(src[p:end])
			if n <= 0 {
				return p, guardBad(p, body, "bad varlong")
			}
			p, l = p+n, 0
		case gString, gNullableString:
			if end-p < 2 {
				return p, guardShort(p, end, 2, body)
			}
			l = int(int16(binary.BigEndian.Uint16(src[p:])))
			p += 2
		case gBytes, gNullableBytes:
			if end-p < 4 {
				return p, guardShort(p, end, 4, body)
			}
			l = int(int32(binary.BigEndian.Uint32(src[p:])))
			p += 4
		case gCompactString, gCompactNullableString, gCompactBytes, gCompactNullableBytes:
			u, n := guardUvarint(src[p:end])
			if n <= 0 {
				return p, guardBad(p, body, "bad varint length")
			}
			p += n
			l = int(u) - 1
		case gVarintBytes:
			u, n := guardUvarint(src[p:end])
			if n <= 0 {
				return p, guardBad(p, body, "bad varint length")
			}
			p += n
			l = int(int32(u>>1) ^ -int32(u&1))
		case gArrayLen:
			if end-p < 4 {
				return p, guardShort(p, end, 4, body)
			}
			count = int32(binary.BigEndian.Uint32(src[p:]))
			p, l = p+4, 0
		case gCompactArrayLen:
			u, n := guardUvarint(src[p:end])
			if n <= 0 {
				return p, guardBad(p, body, "bad varint array length")
			}
			count = int32(u) - 1
			p, l = p+n, 0
		case gVarintArrayLen:
			u, n := guardUvarint(src[p:end])
			if n <= 0 {
				return p, guardBad(p, body, "bad varint array length")
			}
			count = int32(u>>1) ^ -int32(u&1)
			p, l = p+n, 0
		case gArray:
			for range count {
				var err error
				if p, err = guardRun(src, p, end, op.arg); err != nil {
					return p, err
				}
			}
			continue
		case gFixedArray:
			if count > 0 {
				if n := int64(count) * int64(op.arg); n > int64(end-p) {
					return p, guardBad(p, body, fmt.Sprintf("%d elements of %d bytes, %d bytes left", count, op.arg, end-p))
				}
				p += int(count) * int(op.arg)
			}
			continue
		case gNullableStruct:
			if end-p < 1 {
				return p, guardShort(p, end, 1, body)
			}
			p++
			if int8(src[start]) != -1 {
				var err error
				if p, err = guardRun(src, p, end, op.arg); err != nil {
					return p, err
				}
			}
			continue
		case gTags:
			if p < end && src[p] == 0 { // the usual case: no tags
				p++
				continue
			}
			var err error
			if p, err = guardTags(src, p, end, body, op.arg); err != nil {
				return p, err
			}
			continue
		}
		if l < 0 {
			switch op.kind {
			case gNullableString, gCompactNullableString, gNullableBytes, gCompactNullableBytes, gVarintBytes:
				l = 0 // null
			case gBytes, gCompactBytes:
				if l != -1 { // kbin reads -1 as empty, other negatives fail
					return start, guardBad(start, body, fmt.Sprintf("bytes length %d", l))
				}
				l = 0
			default:
				return start, guardBad(start, body, fmt.Sprintf("string length %d", l))
			}
		}
		if op.kind >= gArrayLen && op.kind <= gVarintArrayLen && int(count) > end-p {
			// kbin's check, which makes every element take a byte.
			return start, guardBad(start, body, fmt.Sprintf("array length %d, %d bytes left", count, end-p))
		}
		if l > end-p {
			return start, guardShort(p, end, l, body)
		}
		p += l
	}
	return p, nil
}

// guardTags reads a tagged-field section of body from src[p:end]: a
// uvarint count, then per tag a uvarint key, a uvarint size and size bytes.
// The tags in guardTagSets[set] are also read as their bodies, from their
// own bytes.
func guardTags(src []byte, p, end int, body, set uint16) (int, error) {
	num, n := guardUvarint(src[p:end])
	if n <= 0 {
		return p, guardBad(p, body, "bad tag count")
	}
	if uint64(num) > uint64(end-p-n)/2 {
		return p, &guardError{off: p, in: guardBodies[body].name, tagCount: num,
			reason: fmt.Sprintf("tag count %d, %d bytes left", num, end-p-n)}
	}
	p += n
	known := guardTagSets[set]
	for ; num > 0; num-- {
		key, n := guardUvarint(src[p:end])
		if n <= 0 {
			return p, guardBad(p, body, "bad tag key")
		}
		p += n
		size, n := guardUvarint(src[p:end])
		if n <= 0 {
			return p, guardBad(p, body, "bad tag size")
		}
		p += n
		if int(size) < 0 || int(size) > end-p {
			return p, guardShort(p, end, int(size), body)
		}
		for _, t := range known {
			if t.key == key {
				if _, err := guardRun(src, p, p+int(size), t.body); err != nil {
					return p, err
				}
				break
			}
		}
		p += int(size)
	}
	return p, nil
}

func guardShort(p, end, need int, body uint16) error {
	return guardBad(p, body, fmt.Sprintf("needs %d bytes, %d left", need, end-p))
}

func guardBad(p int, body uint16, reason string) error {
	return &guardError{off: p, in: guardBodies[body].name, reason: reason}
}

// guardUvarint decodes an unsigned varint of at most 5 bytes as
// kbin.Uvarint does: n ≤ 0 if b ends first or the value overflows 32 bits.
func guardUvarint(b []byte) (uint32, int) {
	var x uint32
	for i := 0; i < 5 && i < len(b); i++ {
		c := b[i]
		if i == 4 {
			if c > 0x0f {
				return 0, -5
			}
			return x | uint32(c)<<28, 5
		}
		x |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			return x, i + 1
		}
	}
	return 0, 0
}

func guardUvarintLen(b []byte) int {
	_, n := guardUvarint(b)
	return n
}

// guardUvarlongLen returns the length of an unsigned varint of at most 10
// bytes, as kbin's Varlong reads it, or ≤ 0.
func guardUvarlongLen(b []byte) int {
	for i := 0; i < 10 && i < len(b); i++ {
		if i == 9 {
			if b[i] > 0x01 {
				return -10
			}
			return 10
		}
		if b[i] < 0x80 {
			return i + 1
		}
	}
	return 0
}
