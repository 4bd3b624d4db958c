package record

import (
	"encoding/binary"
	"hash/crc32"
	"slices"
)

// Old message sets (magic 0 and 1), which Produce v0-v2 carry, are a
// sequence of entries:
//
//	offset      int64
//	messageSize int32    bytes that follow
//	crc         uint32   IEEE CRC-32 of everything after it
//	magic       int8     0 or 1
//	attributes  int8     bits 0-2 codec (none, gzip, snappy, lz4),
//	                     bit 3 LogAppendTime (magic 1)
//	timestamp   int64    magic 1 only, ms since epoch
//	key         int32 length (-1 = null), bytes
//	value       int32 length (-1 = null), bytes
//
// A compressed message is a wrapper: its value is another message set,
// compressed, whose messages are uncompressed and of the wrapper's magic.
// Inner offsets are relative (0..n-1) for magic 1 and absolute for magic 0;
// both are ignored here, since the output numbers records itself.
//
// samsa stores only v2 batches, so ConvertLegacy turns a set into one.

// Sizes of an old message before its key and value bytes, from the CRC on
// (Kafka's RECORD_OVERHEAD_V0 and _V1).
const (
	legacyMinMessage   = 14
	legacyMinMessageV1 = 22
)

// IsLegacy reports whether b starts with an old (magic 0 or 1) message set,
// by the magic byte at MagicOffset.
func IsLegacy(b []byte) bool {
	return len(b) > MagicOffset && (b[MagicOffset] == 0 || b[MagicOffset] == 1)
}

// ConvertLegacy turns the magic 0 or 1 message set of a Produce v0-v2
// partition into one v2 batch, as Kafka's broker converts on append. Every
// message's CRC is checked. A compressed set (one wrapper message) keeps
// its codec; magic 0 LZ4 with the broken frame checksum of KAFKA-3160 is
// accepted. Magic 0 has no timestamps: records get -1 (none), or opts.Now
// when opts.LogAppendTime.
//
// ConvertLegacy reads opts.MaxMessageBytes (each message's size),
// opts.DecompressLimit, opts.LogAppendTime and opts.Now. The batch it returns
// still has to pass Validate with the same opts, which applies the topic's
// key and timestamp rules.
func ConvertLegacy(set []byte, opts ValidateOptions) ([]byte, error) {
	limit := opts.DecompressLimit
	if limit <= 0 {
		limit = DefaultDecompressLimit
	}
	maxBytes := opts.MaxMessageBytes
	if maxBytes <= 0 {
		maxBytes = DefaultMaxMessageBytes
	}
	c := converter{opts: &opts, limit: limit, magic: -1}
	// v2 records are smaller than the messages they come from.
	c.b.records = make([]byte, 0, len(set))
	var entries, wrappers int
	for rest := set; len(rest) > 0; entries++ {
		entry, next, err := nextLegacy(rest, entries == 0)
		if err != nil {
			return nil, err
		}
		if len(entry) > maxBytes {
			return nil, tooLargef("message of %d bytes exceeds max.message.bytes %d", len(entry), maxBytes)
		}
		m, err := parseLegacy(entry[LogOverhead:])
		if err != nil {
			return nil, err
		}
		if c.magic >= 0 && m.magic != c.magic {
			return nil, invalidf("message magic %d differs from the first message's %d", m.magic, c.magic)
		}
		c.magic = m.magic
		if m.codec() != CodecNone {
			wrappers++
		}
		if wrappers > 0 && entries > 0 {
			return nil, invalidf("a compressed message set must be one wrapper message")
		}
		if err := c.add(&m); err != nil {
			return nil, err
		}
		rest = next
	}
	if entries == 0 {
		return nil, invalidf("empty message set")
	}
	return c.b.Build(nil)
}

// nextLegacy splits the entry at the start of b from what follows, with
// Kafka's checks: a size below the smallest message or an unknown magic is
// CORRUPT_MESSAGE, a set without one whole message INVALID_RECORD.
func nextLegacy(b []byte, first bool) (entry, rest []byte, err error) {
	size, err := nextBatch(b, "")
	switch {
	case err != nil:
		return nil, nil, err
	case size < 0 && first:
		return nil, nil, invalidf("no complete message in %d bytes", len(b))
	case size < 0:
		return nil, nil, corruptf("message set ends with %d bytes of a partial message", len(b))
	case b[offMagic] > 1:
		return nil, nil, invalidf("magic %d batch inside an old message set", b[offMagic])
	}
	return b[:size], b[size:], nil
}

// legacyMessage is one decoded old message.
type legacyMessage struct {
	magic      int8
	attrs      int8
	timestamp  int64 // -1 for magic 0
	key, value []byte
}

func (m *legacyMessage) codec() Codec        { return Codec(m.attrs & CompressionMask) }
func (m *legacyMessage) logAppendTime() bool { return m.magic == 1 && m.attrs&TimestampTypeBit != 0 }

// parseLegacy decodes a message from its CRC to its end, checking the CRC.
func parseLegacy(b []byte) (legacyMessage, error) {
	m := legacyMessage{magic: int8(b[4]), timestamp: -1}
	overhead := legacyMinMessage
	if m.magic == 1 {
		overhead = legacyMinMessageV1
	}
	if len(b) < overhead {
		return m, corruptf("magic %d message of %d bytes is below the minimum of %d", m.magic, len(b), overhead)
	}
	if want, got := binary.BigEndian.Uint32(b), crc32.ChecksumIEEE(b[4:]); want != got {
		return m, corruptf("message CRC is %#08x, the message hashes to %#08x", want, got)
	}
	m.attrs = int8(b[5])
	b = b[6:]
	if m.magic == 1 {
		m.timestamp = int64(binary.BigEndian.Uint64(b))
		b = b[8:]
	}
	var ok bool
	if m.key, b, ok = legacyBytes(b); !ok {
		return m, corruptf("message key length does not fit the message")
	}
	if m.value, b, ok = legacyBytes(b); !ok {
		return m, corruptf("message value length does not fit the message")
	}
	if len(b) != 0 {
		return m, corruptf("%d bytes after the message's value", len(b))
	}
	return m, nil
}

// legacyBytes reads an int32 length (-1 = null) and that many bytes.
func legacyBytes(b []byte) (v, rest []byte, ok bool) {
	if len(b) < 4 {
		return nil, nil, false
	}
	l := int32(binary.BigEndian.Uint32(b))
	b = b[4:]
	switch {
	case l == -1:
		return nil, b, true
	case l < 0 || int64(l) > int64(len(b)):
		return nil, nil, false
	}
	return b[:l:l], b[l:], true
}

// converter accumulates the converted records.
type converter struct {
	opts  *ValidateOptions
	limit int
	magic int8
	b     Builder
	ready bool
}

func (c *converter) builder(codec Codec) *Builder {
	if !c.ready {
		c.b.Reset(codec)
		c.ready = true
	}
	return &c.b
}

// add converts one top-level message: a record, or a wrapper of records.
func (c *converter) add(m *legacyMessage) error {
	codec := m.codec()
	if codec == CodecNone {
		c.record(c.builder(CodecNone), m, m)
		return nil
	}
	if codec > CodecLZ4 {
		return unsupportedCodecf("compression codec %d in a magic %d message", codec, m.magic)
	}
	if m.value == nil {
		return invalidf("compressed message without a value")
	}
	scratch := getScratch()
	defer putScratch(scratch)
	inner, err := decompress((*scratch)[:0], codec, m.value, c.limit, codec == CodecLZ4 && m.magic == 0)
	*scratch = inner
	if err != nil {
		return err
	}
	b := c.builder(codec)
	b.records = slices.Grow(b.records, len(inner))
	for i := 0; len(inner) > 0; i++ {
		entry, next, err := nextLegacy(inner, i == 0)
		if err != nil {
			return err
		}
		im, err := parseLegacy(entry[LogOverhead:])
		if err != nil {
			return err
		}
		switch {
		case im.magic != m.magic:
			return recordErr(i, "magic %d inside a magic %d wrapper", im.magic, m.magic)
		case im.codec() != CodecNone:
			return recordErr(i, "compressed message inside a compressed message")
		}
		c.record(b, &im, m)
		inner = next
	}
	if b.Len() == 0 {
		return invalidf("compressed message holds no messages")
	}
	return nil
}

// record adds one uncompressed message; wrapper is the message it came in
// (itself when it came alone), whose timestamp type rules.
func (c *converter) record(b *Builder, m, wrapper *legacyMessage) {
	ts := m.timestamp
	switch {
	case wrapper.logAppendTime():
		// The producer claimed LogAppendTime; keep the claim, so that
		// Validate rejects it as it would in a v2 batch.
		ts = wrapper.timestamp
		b.SetLogAppendTime(true)
	case m.magic == 0 && c.opts.LogAppendTime:
		ts = c.opts.Now
	}
	b.Add(ts, m.key, m.value, nil)
}
