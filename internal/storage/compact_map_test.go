package storage

import (
	"fmt"
	"testing"
)

func TestOffsetMap(t *testing.T) {
	t.Run("keeps the latest offset of each key as it grows", func(t *testing.T) {
		m := newOffsetMap(50_000, 0.9)
		for off := int64(0); off < 200_000; off++ {
			if !m.put(fmt.Appendf(nil, "key-%d", off%40_000), off) {
				t.Fatalf("put %d refused", off)
			}
		}
		if m.n != 40_000 {
			t.Fatalf("%d keys, want 40000", m.n)
		}
		for k := int64(0); k < 40_000; k++ {
			if got, want := m.get(fmt.Appendf(nil, "key-%d", k)), 160_000+k; got != want {
				t.Fatalf("key-%d: %d, want %d", k, got, want)
			}
		}
		if got := m.get([]byte("absent")); got != -1 {
			t.Fatalf("absent key: %d", got)
		}
	})
	t.Run("refuses new keys when full but updates old ones", func(t *testing.T) {
		m := newOffsetMap(3, 0.9)
		for i, k := range []string{"a", "b", "c"} {
			if !m.put([]byte(k), int64(i)) {
				t.Fatalf("put %s refused", k)
			}
		}
		if m.put([]byte("d"), 3) || !m.full() {
			t.Fatal("a fourth key fit a three-key map")
		}
		if !m.put([]byte("a"), 4) || m.get([]byte("a")) != 4 || m.get([]byte("d")) != -1 {
			t.Fatal("updating a held key failed")
		}
		m.reset()
		if m.get([]byte("a")) != -1 || m.full() || !m.put([]byte("d"), 5) {
			t.Fatal("reset left keys behind")
		}
	})
	t.Run("empty and null-length keys are keys", func(t *testing.T) {
		m := newOffsetMap(10, 1)
		m.put([]byte{}, 7)
		if m.get([]byte{}) != 7 || m.get([]byte{0}) != -1 {
			t.Fatal("empty key")
		}
	})
}

func TestNextPrime(t *testing.T) {
	for _, tc := range [][2]int{{0, 2}, {2, 2}, {3, 3}, {4, 5}, {14, 17}, {1021, 1021}, {1022, 1031}} {
		if got := nextPrime(tc[0]); got != tc[1] {
			t.Errorf("nextPrime(%d) = %d, want %d", tc[0], got, tc[1])
		}
	}
}
