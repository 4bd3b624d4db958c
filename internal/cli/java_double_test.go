package cli

import "testing"

// javaDouble prints as Java's Double.toString: quota values and the
// console consumer's DoubleDeserializer show this way in Kafka's tools.
func TestJavaDouble(t *testing.T) {
	for v, want := range map[float64]string{
		0: "0.0", 1048576: "1048576.0", 1.5: "1.5", -2: "-2.0", 9999999: "9999999.0",
		1e7: "1.0E7", 12345678.9: "1.23456789E7", 0.001: "0.001", 0.0001: "1.0E-4",
	} {
		if got := javaDouble(v); got != want {
			t.Errorf("javaDouble(%v) = %s, want %s", v, got, want)
		}
	}
}
