package quorum

import (
	"bytes"
	"slices"
	"testing"

	pb "go.etcd.io/raft/v3/raftpb"
)

func entryRec(index, term uint64) record {
	return record{typ: recEntry, entry: walEntry{index: index, term: term}}
}

func headerRec(kind uint8, snapIndex, snapTerm uint64) record {
	return record{typ: recHeader, header: segHeader{kind: kind, snapIndex: snapIndex, snapTerm: snapTerm}}
}

func TestLogStateReplay(t *testing.T) {
	type ie struct{ index, term uint64 }
	tests := []struct {
		name    string
		recs    []record
		want    []ie
		wantErr bool
	}{
		{"entries append in order",
			[]record{headerRec(segKindFull, 0, 0), entryRec(1, 1), entryRec(2, 1), entryRec(3, 2)},
			[]ie{{1, 1}, {2, 1}, {3, 2}}, false},
		{"an entry at an earlier index replaces it and everything after",
			[]record{headerRec(segKindFull, 0, 0), entryRec(1, 1), entryRec(2, 1), entryRec(3, 1), entryRec(2, 2)},
			[]ie{{1, 1}, {2, 2}}, false},
		{"entries the snapshot covers are ignored",
			[]record{headerRec(segKindFull, 5, 2), entryRec(4, 2), entryRec(6, 2)},
			[]ie{{6, 2}}, false},
		{"a continued segment keeps the log",
			[]record{headerRec(segKindFull, 5, 2), entryRec(6, 2), headerRec(segKindContinued, 5, 2), entryRec(7, 3)},
			[]ie{{6, 2}, {7, 3}}, false},
		{"a gap is corruption",
			[]record{headerRec(segKindFull, 0, 0), entryRec(1, 1), entryRec(3, 1)}, nil, true},
		{"a falling term is corruption",
			[]record{headerRec(segKindFull, 0, 0), entryRec(1, 2), entryRec(2, 1)}, nil, true},
		{"an entry below the snapshot's term is corruption",
			[]record{headerRec(segKindFull, 5, 3), entryRec(6, 2)}, nil, true},
		{"replay cannot start at a continued segment",
			[]record{headerRec(segKindContinued, 0, 0)}, nil, true},
		{"a continued segment naming another snapshot is corruption",
			[]record{headerRec(segKindFull, 5, 2), headerRec(segKindContinued, 6, 2)}, nil, true},
		{"an entry before any header is corruption",
			[]record{entryRec(1, 1)}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := &logState{}
			var err error
			for _, r := range tc.recs {
				if err = st.apply(r); err != nil {
					break
				}
			}
			if (err != nil) != tc.wantErr {
				t.Fatalf("replay error %v, want error: %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			var got []ie
			for _, e := range st.ents {
				got = append(got, ie{e.index, e.term})
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("log %v, want %v", got, tc.want)
			}
		})
	}
}

func TestLogStateFinish(t *testing.T) {
	t.Run("the commit index is raised to the snapshot", func(t *testing.T) {
		st := &logState{started: true, snapIndex: 7, snapTerm: 2, hs: hardState{term: 2, commit: 3}}
		hs, clamped, err := st.finish()
		if err != nil || hs.commit != 7 || clamped {
			t.Fatalf("finish: %+v %v %v, want commit 7", hs, clamped, err)
		}
	})
	t.Run("a commit index beyond a torn-off tail is lowered to the last entry", func(t *testing.T) {
		st := &logState{started: true, hs: hardState{term: 1, commit: 9},
			ents: []walEntry{{index: 1, term: 1}, {index: 2, term: 1}}}
		hs, clamped, err := st.finish()
		if err != nil || hs.commit != 2 || !clamped {
			t.Fatalf("finish: %+v %v %v, want commit 2, clamped", hs, clamped, err)
		}
	})
	t.Run("entries of a term the hard state never saw are corruption", func(t *testing.T) {
		st := &logState{started: true, hs: hardState{term: 1}, ents: []walEntry{{index: 1, term: 2}}}
		if _, _, err := st.finish(); err == nil {
			t.Fatal("finish accepted an entry of term 2 with hard state term 1")
		}
	})
}

func TestRecordFraming(t *testing.T) {
	recs := []record{
		headerRec(segKindFull, 10, 3),
		{typ: recEntry, entry: walEntry{index: 11, term: 3, typ: pb.EntryConfChange, data: []byte("cc")}},
		{typ: recEntry, entry: walEntry{index: 12, term: 3}},
		{typ: recHardState, hs: hardState{term: 3, vote: 2, commit: 11}},
	}
	var b []byte
	for _, r := range recs {
		b = encodeRecord(b, r)
	}
	t.Run("records decode to what was encoded", func(t *testing.T) {
		var got []byte
		for off := 0; off < len(b); {
			r, n, err := decodeRecord(b[off:])
			if err != nil {
				t.Fatalf("at %d: %v", off, err)
			}
			got = encodeRecord(got, r)
			off += n
		}
		if !bytes.Equal(got, b) {
			t.Fatal("re-encoding differs")
		}
	})
	t.Run("every flipped bit is detected", func(t *testing.T) {
		one := encodeRecord(nil, recs[1])
		for i := range len(one) * 8 {
			c := slices.Clone(one)
			c[i/8] ^= 1 << (i % 8)
			if _, _, err := decodeRecord(c); err == nil {
				t.Fatalf("bit %d flipped and the record still decodes", i)
			}
		}
	})
	t.Run("zeroes never decode", func(t *testing.T) {
		if _, _, err := decodeRecord(make([]byte, 100)); err == nil {
			t.Fatal("zeroes decoded as a record")
		}
	})
}
