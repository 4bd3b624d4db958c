package record

import (
	"bytes"
	"errors"
	"io"
	"math"
	"runtime"
	"testing"
	"testing/iotest"

	"github.com/twmb/franz-go/pkg/kerr"
)

func TestVarintRoundTrip(t *testing.T) {
	for _, v := range []int32{0, 1, -1, 63, -64, 64, 1 << 20, math.MaxInt32, math.MinInt32} {
		b := appendVarint(nil, v)
		got, n := readVarint(b)
		if got != v || n != len(b) || n != sizeVarint(v) {
			t.Errorf("varint %d: encoded %x, read %d (%d bytes), size %d", v, b, got, n, sizeVarint(v))
		}
	}
	for _, v := range []int64{0, -1, 1 << 40, math.MaxInt64, math.MinInt64} {
		b := appendVarlong(nil, v)
		got, n := readVarlong(b)
		if got != v || n != len(b) || n != sizeVarlong(v) {
			t.Errorf("varlong %d: encoded %x, read %d (%d bytes)", v, b, got, n)
		}
	}
}

func TestVarintRejectsBadEncodings(t *testing.T) {
	tests := []struct {
		name   string
		b      []byte
		long   bool
		wantOK int // the n readVarint/readVarlong must return
	}{
		{"empty input is truncated", nil, false, 0},
		{"a continuation byte at the end is truncated", []byte{0x80}, false, 0},
		{"six bytes are too long for a varint", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, false, -1},
		{"a fifth byte above 0x0f overflows a varint", []byte{0xff, 0xff, 0xff, 0xff, 0x1f}, false, -1},
		{"a fifth byte of 0x0f fits a varint", []byte{0xff, 0xff, 0xff, 0xff, 0x0f}, false, 5},
		{"a non-minimal encoding is accepted, as in Kafka", []byte{0x80, 0x00}, false, 2},
		{"eleven bytes are too long for a varlong", bytes.Repeat([]byte{0x80}, 11), true, -1},
		{"a tenth byte above 1 overflows a varlong", append(bytes.Repeat([]byte{0xff}, 9), 0x02), true, -1},
		{"a tenth byte of 1 fits a varlong", append(bytes.Repeat([]byte{0xff}, 9), 0x01), true, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n int
			if tt.long {
				_, n = readVarlong(tt.b)
			} else {
				_, n = readVarint(tt.b)
			}
			if n != tt.wantOK {
				t.Errorf("n = %d, want %d", n, tt.wantOK)
			}
		})
	}
}

func TestIterTellsNullFromEmpty(t *testing.T) {
	section := withLength([]byte{0, 0, 0, 1, 0, 0}) // key null, value empty, no headers
	it := NewIter(section, 1)
	var r Record
	if !it.Next(&r) {
		t.Fatal(it.Err())
	}
	if r.Key != nil || r.Value == nil || len(r.Value) != 0 || r.Headers.Len() != 0 || r.Len != len(section) {
		t.Errorf("record = %+v", r)
	}
	if it.Next(&r) || it.Err() != nil {
		t.Errorf("after the last record: %v", it.Err())
	}
}

func TestIterHeaders(t *testing.T) {
	section := withLength([]byte{0, 0, 0, 1, 1, 6, 2, 'a', 2, 'x', 0, 1, 2, 'c', 0})
	it := NewIter(section, 1)
	var r Record
	if !it.Next(&r) {
		t.Fatal(it.Err())
	}
	var got []RecordHeader
	hi := r.Headers.Iter()
	for h, ok := hi.Next(); ok; h, ok = hi.Next() {
		got = append(got, h)
	}
	want := []RecordHeader{{Key: []byte("a"), Value: []byte("x")}, {Key: []byte{}, Value: nil}, {Key: []byte("c"), Value: []byte{}}}
	if len(got) != len(want) {
		t.Fatalf("headers %q", got)
	}
	for i := range want {
		if !sameBytes(got[i].Key, want[i].Key) || !sameBytes(got[i].Value, want[i].Value) {
			t.Errorf("header %d = %q, want %q", i, got[i], want[i])
		}
	}
}

func TestIterNegativeCount(t *testing.T) {
	it := NewIter(nil, -1)
	var r Record
	if it.Next(&r) {
		t.Fatal("read a record")
	}
	wantCode(t, it.Err(), kerr.InvalidRecord)
	var zero Iter
	if zero.Next(&r) || zero.Err() != nil {
		t.Error("the zero Iter is not empty")
	}
}

// The Reader must decode what Iter decodes, however its source splits the
// bytes.
func TestReaderMatchesIter(t *testing.T) {
	recs := franzRecords(30, 3000)
	section := encodeFranzRecords(recs)
	for name, src := range map[string]io.Reader{
		"whole":    bytes.NewReader(section),
		"one byte": iotest.OneByteReader(bytes.NewReader(section)),
		"half":     iotest.HalfReader(bytes.NewReader(section)),
		"data+EOF": iotest.DataErrReader(bytes.NewReader(section)),
	} {
		t.Run(name, func(t *testing.T) {
			rd := NewReader(src, 30, len(section))
			defer rd.Release()
			var r Record
			i := 0
			for ; rd.Next(&r); i++ {
				if d := sameRecord(&r, &recs[i]); d != "" {
					t.Fatalf("record %d: %s", i, d)
				}
			}
			if err := rd.Err(); err != nil || i != 30 {
				t.Fatalf("read %d records: %v", i, err)
			}
			if rd.Taken() != int64(len(section)) {
				t.Errorf("took %d bytes of %d", rd.Taken(), len(section))
			}
		})
	}
}

func TestReaderRejects(t *testing.T) {
	section := encodeFranzRecords(franzRecords(3, 100))
	tests := []struct {
		name  string
		src   io.Reader
		count int32
		limit int
		want  *kerr.Error
	}{
		{"more bytes than the limit", bytes.NewReader(section), 3, len(section) - 1, kerr.InvalidRecord},
		{"records after the declared count", bytes.NewReader(section), 2, len(section), kerr.InvalidRecord},
		{"fewer records than declared", bytes.NewReader(section), 4, len(section), kerr.InvalidRecord},
		{"a stream cut inside a record", bytes.NewReader(section[:len(section)-3]), 3, len(section), kerr.InvalidRecord},
		{"a failing source", io.MultiReader(bytes.NewReader(section[:50]), iotest.ErrReader(errors.New("boom"))), 3, len(section), kerr.CorruptMessage},
		{"a negative count", bytes.NewReader(section), -1, len(section), kerr.InvalidRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rd := NewReader(tt.src, tt.count, tt.limit)
			defer rd.Release()
			var r Record
			for rd.Next(&r) {
			}
			wantCode(t, rd.Err(), tt.want)
		})
	}
}

// A record claiming a length near the limit must not make the Reader
// allocate that much before the bytes arrive.
func TestReaderAllocatesWhatArrives(t *testing.T) {
	claim := appendVarint(nil, 48<<20)
	src := append(claim, make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rd := NewReader(bytes.NewReader(src), 1, 64<<20)
	var r Record
	for rd.Next(&r) {
	}
	err := rd.Err()
	rd.Release()
	runtime.ReadMemStats(&after)
	wantCode(t, err, kerr.InvalidRecord)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("allocated %d bytes for 104 bytes of input", grew)
	}
}

func TestReaderEnforcesLimitBeforeAllocating(t *testing.T) {
	src := appendVarint(nil, 10<<20)
	rd := NewReader(bytes.NewReader(src), 1, 1<<20)
	defer rd.Release()
	var r Record
	if rd.Next(&r) {
		t.Fatal("read a record")
	}
	wantCode(t, rd.Err(), kerr.InvalidRecord)
	if cap(rd.buf) > readerMinBuf {
		t.Errorf("buffer grew to %d", cap(rd.buf))
	}
}

// A source that returns no bytes and no error forever must not hang the
// Reader.
func TestReaderStopsOnASourceWithoutProgress(t *testing.T) {
	rd := NewReader(stuckReader{}, 1, 100)
	defer rd.Release()
	var r Record
	if rd.Next(&r) {
		t.Fatal("read a record")
	}
	wantCode(t, rd.Err(), kerr.CorruptMessage)
}

type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }
