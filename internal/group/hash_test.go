package group

import "testing"

// The expected values are Java's String.hashCode and Kafka's
// Utils.abs(hash) % 50, computed independently of this code.
func TestPartitionForMatchesKafka(t *testing.T) {
	for _, tc := range []struct {
		group string
		hash  int32
		part  int32
	}{
		{"", 0, 0},
		{"a", 97, 47},
		{"hello", 99162322, 22},
		{"polygenelubricants", -2147483648, 0}, // Utils.abs(MinInt32) is 0
		{"my-group", -1906497762, 12},
		{"console-consumer-12345", 158455506, 6},
		{"größe", 98762257, 7},
		{"😀", 1772899, 49}, // a surrogate pair in UTF-16
	} {
		if h := javaStringHash(tc.group); h != tc.hash {
			t.Errorf("javaStringHash(%q) = %d, want %d", tc.group, h, tc.hash)
		}
		if p := PartitionFor(tc.group, 50); p != tc.part {
			t.Errorf("PartitionFor(%q, 50) = %d, want %d", tc.group, p, tc.part)
		}
	}
}
