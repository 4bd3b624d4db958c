package controller

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"
)

// opError is a protocol outcome: a Kafka error code with the message Kafka
// would put beside it.
type opError struct {
	code *kerr.Error
	msg  string
}

func (e *opError) Error() string { return e.msg }
func (e *opError) Unwrap() error { return e.code }

func kerrf(code *kerr.Error, format string, args ...any) error {
	return &opError{code: code, msg: fmt.Sprintf(format, args...)}
}

// setKerr stores err as a response's error code and message. Errors that
// are not protocol outcomes become UNKNOWN_SERVER_ERROR.
func setKerr(code *int16, msg **string, err error) {
	var oe *opError
	if errors.As(err, &oe) {
		setErr(code, msg, oe.code, oe.msg)
		return
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		setErr(code, msg, ke, ke.Description)
		return
	}
	setErr(code, msg, kerr.UnknownServerError, err.Error())
}

func setErr(code *int16, msg **string, e *kerr.Error, text string) {
	*code = e.Code
	if msg != nil {
		*msg = &text
	}
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
