package record

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Batches as franz-go's producer writes them, for every codec, must pass
// Validate and decode to the records kmsg encoded.
func TestValidateAcceptsFranzBatches(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			want := franzRecords(20, 300)
			b := franzBatch(t, codec, want, nil)
			opts := testOpts()
			opts.CheckCompressedRecords = true
			info, err := Validate(b, opts)
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if info.Modified {
				t.Error("Validate modified a batch whose header was right")
			}
			if info.NumRecords != 20 || info.Codec != codec || !info.RecordsChecked {
				t.Errorf("info = %+v", info)
			}
			if info.MaxTimestamp != testNow+19 || info.MaxTimestampDelta != 19 {
				t.Errorf("max timestamp %d at delta %d, want %d at 19", info.MaxTimestamp, info.MaxTimestampDelta, testNow+19)
			}
			if info.Header.ProducerID != 1000 || info.Header.ProducerEpoch != 3 || info.Header.BaseSequence != 7 {
				t.Errorf("producer fields = %+v", info.Header)
			}
			checkRecords(t, b, want)
		})
	}
}

// checkRecords reads b's records with the package's iterators and compares
// them with want.
func checkRecords(t *testing.T, b []byte, want []kmsg.Record) {
	t.Helper()
	h, err := ParseHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	section := b[HeaderSize:h.Size()]
	var r Record
	i := 0
	if h.Codec() == CodecNone {
		it := NewIter(section, h.NumRecords)
		for ; it.Next(&r); i++ {
			if d := sameRecord(&r, &want[i]); d != "" {
				t.Fatalf("Iter record %d: %s", i, d)
			}
		}
		if err := it.Err(); err != nil {
			t.Fatalf("Iter: %v", err)
		}
	} else {
		d, err := NewDecompressReader(h.Codec(), section, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Release()
		rd := NewReader(d, h.NumRecords, DefaultDecompressLimit)
		defer rd.Release()
		for ; rd.Next(&r); i++ {
			if d := sameRecord(&r, &want[i]); d != "" {
				t.Fatalf("Reader record %d: %s", i, d)
			}
		}
		if err := rd.Err(); err != nil {
			t.Fatalf("Reader: %v", err)
		}
	}
	if i != len(want) {
		t.Fatalf("read %d records, want %d", i, len(want))
	}
}

// Batches the Builder writes must decode with kmsg and kgo's decompressor
// to exactly the records added.
func TestBuilderOutputDecodesWithFranz(t *testing.T) {
	for _, codec := range allCodecs {
		t.Run(codec.String(), func(t *testing.T) {
			want := franzRecords(50, 200)
			want[3].Key = nil
			want[4].Value = nil
			want[5].Value = []byte{}
			want[7].TimestampDelta64 = -5 // earlier than the first record
			b := NewBuilder(codec)
			b.SetProducer(42, 1, 100)
			b.SetTransactional(true)
			for i := range want {
				var hs []RecordHeader
				for _, h := range want[i].Headers {
					hs = append(hs, RecordHeader{Key: []byte(h.Key), Value: h.Value})
				}
				b.Add(testNow+want[i].TimestampDelta64, want[i].Key, want[i].Value, hs)
			}
			batch, err := b.Build(nil)
			if err != nil {
				t.Fatal(err)
			}
			kb, got := decodeFranz(t, batch)
			if kb.Magic != 2 || kb.Attributes != int16(codec)|TransactionalBit || kb.NumRecords != 50 ||
				kb.LastOffsetDelta != 49 || kb.ProducerID != 42 || kb.ProducerEpoch != 1 || kb.FirstSequence != 100 ||
				kb.FirstTimestamp != testNow || kb.MaxTimestamp != testNow+49 || kb.PartitionLeaderEpoch != -1 {
				t.Errorf("header = %+v", kb)
			}
			if int(kb.Length) != len(batch)-LogOverhead {
				t.Errorf("length %d for %d bytes", kb.Length, len(batch))
			}
			if len(got) != len(want) {
				t.Fatalf("kmsg decoded %d records, want %d", len(got), len(want))
			}
			for i := range got {
				var r Record
				it := NewIter(encodeFranzRecords(want[i:i+1]), 1)
				if !it.Next(&r) {
					t.Fatal(it.Err())
				}
				if d := sameRecord(&r, &got[i]); d != "" {
					t.Fatalf("record %d: %s", i, d)
				}
			}
			if _, err := Validate(batch, testOpts()); err != nil {
				t.Errorf("Validate rejects the Builder's batch: %v", err)
			}
		})
	}
}

// What Compress writes, franz-go must read; what franz-go writes,
// Decompress must read.
func TestCodecsInteroperateWithFranz(t *testing.T) {
	src := encodeFranzRecords(franzRecords(100, 500))
	for _, codec := range allCodecs[1:] {
		t.Run(codec.String(), func(t *testing.T) {
			ours, err := Compress(nil, codec, src)
			if err != nil {
				t.Fatal(err)
			}
			back, err := kgo.DefaultDecompressor().Decompress(ours, kgo.CompressionCodecType(codec))
			if err != nil || string(back) != string(src) {
				t.Fatalf("franz-go cannot read our %s: %v", codec, err)
			}
			comp, _ := kgo.DefaultCompressor(franzCodec(codec))
			theirs, _ := comp.Compress(new(bytes.Buffer), src)
			back, err = Decompress(nil, codec, theirs, 0)
			if err != nil || string(back) != string(src) {
				t.Fatalf("cannot read franz-go's %s: %v", codec, err)
			}
		})
	}
}
