package cli

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kgo"
)

// kafka_message_formatter.go is Kafka's DefaultMessageFormatter, which
// kafka-console-consumer.sh prints records with: the print.* properties
// choose the fields, key.separator goes between them, line.separator after
// the last, and a null key or value prints as null.literal.

// messageFormatter is Kafka's DefaultMessageFormatter.
type messageFormatter struct {
	printTimestamp, printKey, printValue, printPartition bool
	printOffset, printHeaders, printEpoch, printDelivery bool
	keySep, lineSep, headersSep, nullLiteral             []byte
	keyDeser, valueDeser, headersDeser                   deserializer
}

// deserializer turns bytes into printable text; nil passes them through.
type deserializer func([]byte) ([]byte, error)

func newMessageFormatter(p *props) (*messageFormatter, error) {
	m := &messageFormatter{printValue: true, keySep: []byte("\t"), lineSep: []byte("\n"),
		headersSep: []byte(","), nullLiteral: []byte("null")}
	bools := map[string]*bool{"print.timestamp": &m.printTimestamp, "print.key": &m.printKey,
		"print.value": &m.printValue, "print.partition": &m.printPartition, "print.offset": &m.printOffset,
		"print.headers": &m.printHeaders, "print.epoch": &m.printEpoch, "print.delivery": &m.printDelivery}
	strs := map[string]*[]byte{"key.separator": &m.keySep, "line.separator": &m.lineSep,
		"headers.separator": &m.headersSep, "null.literal": &m.nullLiteral}
	for _, k := range p.Keys() {
		v, _ := p.Get(k)
		if b := bools[k]; b != nil {
			*b = strings.EqualFold(strings.TrimSpace(v), "true")
		}
		if s := strs[k]; s != nil {
			*s = []byte(v)
		}
	}
	var err error
	for _, d := range []struct {
		key string
		to  *deserializer
	}{{"key.deserializer", &m.keyDeser}, {"value.deserializer", &m.valueDeser}, {"headers.deserializer", &m.headersDeser}} {
		if v, ok := p.Get(d.key); ok {
			if *d.to, err = deserializerFor(v); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

// append writes r as DefaultMessageFormatter.writeTo does.
func (m *messageFormatter) append(b []byte, r *kgo.Record) ([]byte, error) {
	sep := func(more bool) {
		if more {
			b = append(b, m.keySep...)
		} else {
			b = append(b, m.lineSep...)
		}
	}
	if m.printTimestamp {
		if r.Attrs.TimestampType() == 1 {
			b = fmt.Appendf(b, "LogAppendTime:%d", r.Timestamp.UnixMilli())
		} else if r.Attrs.TimestampType() == 0 {
			b = fmt.Appendf(b, "CreateTime:%d", r.Timestamp.UnixMilli())
		} else {
			b = append(b, "NO_TIMESTAMP"...)
		}
		sep(m.printPartition || m.printOffset || m.printDelivery || m.printEpoch || m.printHeaders || m.printKey || m.printValue)
	}
	if m.printPartition {
		b = fmt.Appendf(b, "Partition:%d", r.Partition)
		sep(m.printOffset || m.printDelivery || m.printEpoch || m.printHeaders || m.printKey || m.printValue)
	}
	if m.printOffset {
		b = fmt.Appendf(b, "Offset:%d", r.Offset)
		sep(m.printDelivery || m.printEpoch || m.printHeaders || m.printKey || m.printValue)
	}
	if m.printDelivery {
		b = append(b, "Delivery:NOT_PRESENT"...)
		sep(m.printEpoch || m.printHeaders || m.printKey || m.printValue)
	}
	if m.printEpoch {
		if r.LeaderEpoch >= 0 {
			b = fmt.Appendf(b, "Epoch:%d", r.LeaderEpoch)
		} else {
			b = append(b, "Epoch:NOT_PRESENT"...)
		}
		sep(m.printHeaders || m.printKey || m.printValue)
	}
	if m.printHeaders {
		if len(r.Headers) == 0 {
			b = append(b, "NO_HEADERS"...)
		}
		for i, h := range r.Headers {
			b = append(b, h.Key...)
			b = append(b, ':')
			v, err := m.deserialize(m.headersDeser, h.Value)
			if err != nil {
				return nil, err
			}
			b = append(b, v...)
			if i < len(r.Headers)-1 {
				b = append(b, m.headersSep...)
			}
		}
		sep(m.printKey || m.printValue)
	}
	if m.printKey {
		v, err := m.deserialize(m.keyDeser, r.Key)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
		sep(m.printValue)
	}
	if m.printValue {
		v, err := m.deserialize(m.valueDeser, r.Value)
		if err != nil {
			return nil, err
		}
		b = append(b, v...)
		b = append(b, m.lineSep...)
	}
	return b, nil
}

func (m *messageFormatter) deserialize(d deserializer, v []byte) ([]byte, error) {
	if v == nil {
		return m.nullLiteral, nil
	}
	if d == nil {
		return v, nil
	}
	return d(v)
}

// deserializerFor maps a Kafka deserializer class to a function.
func deserializerFor(class string) (deserializer, error) {
	name := class[strings.LastIndexByte(class, '.')+1:]
	fixed := func(size int, what string, f func([]byte) string) deserializer {
		return func(b []byte) ([]byte, error) {
			if len(b) != size {
				return nil, fmt.Errorf("Size of data received by %s is not %d", what, size)
			}
			return []byte(f(b)), nil
		}
	}
	switch name {
	case "StringDeserializer", "ByteArrayDeserializer", "BytesDeserializer", "ByteBufferDeserializer", "UUIDDeserializer", "VoidDeserializer":
		return nil, nil
	case "LongDeserializer":
		return fixed(8, name, func(b []byte) string { return strconv.FormatInt(int64(binary.BigEndian.Uint64(b)), 10) }), nil
	case "IntegerDeserializer":
		return fixed(4, name, func(b []byte) string { return strconv.Itoa(int(int32(binary.BigEndian.Uint32(b)))) }), nil
	case "ShortDeserializer":
		return fixed(2, name, func(b []byte) string { return strconv.Itoa(int(int16(binary.BigEndian.Uint16(b)))) }), nil
	case "DoubleDeserializer":
		return fixed(8, name, func(b []byte) string { return javaDouble(math.Float64frombits(binary.BigEndian.Uint64(b))) }), nil
	case "FloatDeserializer":
		return fixed(4, name, func(b []byte) string {
			return javaDouble(float64(math.Float32frombits(binary.BigEndian.Uint32(b))))
		}), nil
	}
	return nil, usagef("deserializer %s is not available (see --help)", class)
}

// javaDouble prints v as Java's Double.toString does: the shortest form
// that reads back, with at least one decimal, and computerized scientific
// notation (1.048576E7) below 10^-3 and from 10^7.
func javaDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	}
	if a := math.Abs(v); a >= 1e7 || (a != 0 && a < 1e-3) {
		mant, exp, _ := strings.Cut(strconv.FormatFloat(v, 'E', -1, 64), "E")
		if !strings.Contains(mant, ".") {
			mant += ".0"
		}
		e, _ := strconv.Atoi(exp)
		return mant + "E" + strconv.Itoa(e)
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}
