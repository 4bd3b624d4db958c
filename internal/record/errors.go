package record

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Error is a batch the broker refuses, together with the Kafka error code the
// Produce response carries for it. Validation failures are protocol
// outcomes, not operational failures: the caller puts Code in the partition's
// response and keeps the connection.
//
// Unwrap returns Code, so errors.Is(err, kerr.CorruptMessage) holds for a
// batch with a bad CRC.
type Error struct {
	// Code is the Kafka error for the whole partition's records.
	Code *kerr.Error
	// Msg says what was wrong, for the response's error_message and logs.
	Msg string
	// Records lists the records at fault, in batch order, when the failure
	// is about individual records (Produce v8+ record_errors). It is nil
	// when the failure is about the batch as a whole.
	Records []RecordError
}

// RecordError is one record's failure inside a rejected batch.
type RecordError struct {
	// BatchIndex is the record's position in its batch, from 0.
	BatchIndex int32
	// Msg says what was wrong with this record.
	Msg string
}

func (e *Error) Error() string { return "record: " + e.Code.Message + ": " + e.Msg }

// Unwrap returns the Kafka error code.
func (e *Error) Unwrap() error { return e.Code }

// ErrorCode returns the Kafka error to report for err: the code of an
// *Error anywhere in err's chain, nil for a nil err, and
// kerr.UnknownServerError for anything else (which this package never
// returns for bad input).
func ErrorCode(err error) *kerr.Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var k *kerr.Error
	if errors.As(err, &k) {
		return k
	}
	return kerr.UnknownServerError
}

// RecordErrors returns the per-record failures carried by err, or nil.
func RecordErrors(err error) []RecordError {
	var e *Error
	if errors.As(err, &e) {
		return e.Records
	}
	return nil
}

// The helpers below build errors only on the failure path; the accepting
// path of Validate allocates nothing.

// corruptf is CORRUPT_MESSAGE: the bytes are not what their own framing
// (lengths, CRC, codec stream) says they are.
func corruptf(format string, args ...any) *Error {
	return &Error{Code: kerr.CorruptMessage, Msg: fmt.Sprintf(format, args...)}
}

// invalidf is INVALID_RECORD: the bytes are intact but break the rules a
// batch from a client must follow.
func invalidf(format string, args ...any) *Error {
	return &Error{Code: kerr.InvalidRecord, Msg: fmt.Sprintf(format, args...)}
}

// recordErr is INVALID_RECORD about one record.
func recordErr(index int, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{
		Code:    kerr.InvalidRecord,
		Msg:     "record " + strconv.Itoa(index) + ": " + msg,
		Records: []RecordError{{BatchIndex: int32(index), Msg: msg}},
	}
}

func tooLargef(format string, args ...any) *Error {
	return &Error{Code: kerr.MessageTooLarge, Msg: fmt.Sprintf(format, args...)}
}

func unsupportedCodecf(format string, args ...any) *Error {
	return &Error{Code: kerr.UnsupportedCompressionType, Msg: fmt.Sprintf(format, args...)}
}

func timestampf(format string, args ...any) *Error {
	return &Error{Code: kerr.InvalidTimestamp, Msg: fmt.Sprintf(format, args...)}
}

// errOverLimit is the error for decompressed data beyond the caller's cap.
// It is INVALID_RECORD, as for Kafka's decompression limits: the batch is
// well-formed but more than the broker agreed to expand.
func errOverLimit(limit int) *Error {
	return invalidf("decompressed data exceeds the limit of %d bytes", limit)
}

// atRecord adds the index of the record being read to a structural error
// found while decoding it, so the response can name the record.
func atRecord(err error, index int) error {
	var e *Error
	if !errors.As(err, &e) || e.Records != nil {
		return err
	}
	return &Error{
		Code:    e.Code,
		Msg:     "record " + strconv.Itoa(index) + ": " + e.Msg,
		Records: []RecordError{{BatchIndex: int32(index), Msg: e.Msg}},
	}
}
