package group

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// errUnloaded completes writes and waiting requests of a partition this
// broker stopped leading. It becomes NOT_COORDINATOR.
var errUnloaded = errors.New("group: __consumer_offsets partition unloaded")

// appendCode maps an error from Log.Append to the code a group metadata
// write answers with, as Kafka's coordinator does
// (appendGroupMetadataErrorToResponseError): replication trouble and
// timeouts are COORDINATOR_NOT_AVAILABLE, lost leadership and storage
// errors NOT_COORDINATOR, oversized records UNKNOWN_SERVER_ERROR. Errors
// that carry no Kafka code are storage or plumbing failures on this broker:
// COORDINATOR_NOT_AVAILABLE, which every client retries.
func appendCode(err error) *kerr.Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errUnloaded), errors.Is(err, context.Canceled):
		return kerr.NotCoordinator
	case errors.Is(err, context.DeadlineExceeded):
		return kerr.CoordinatorNotAvailable
	}
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return kerr.CoordinatorNotAvailable
	}
	switch ke {
	case kerr.UnknownTopicOrPartition, kerr.NotEnoughReplicas, kerr.NotEnoughReplicasAfterAppend,
		kerr.RequestTimedOut:
		return kerr.CoordinatorNotAvailable
	case kerr.NotLeaderForPartition, kerr.KafkaStorageError, kerr.FencedLeaderEpoch:
		return kerr.NotCoordinator
	case kerr.MessageTooLarge, kerr.RecordListTooLarge, kerr.InvalidFetchSize:
		return kerr.UnknownServerError
	}
	return ke
}

// commitAppendCode is appendCode for offset commits, where Kafka reports
// records too large for the log as INVALID_COMMIT_OFFSET_SIZE.
func commitAppendCode(err error) *kerr.Error {
	code := appendCode(err)
	if code == kerr.UnknownServerError {
		var ke *kerr.Error
		if errors.As(err, &ke) && (ke == kerr.MessageTooLarge || ke == kerr.RecordListTooLarge || ke == kerr.InvalidFetchSize) {
			return kerr.InvalidCommitOffsetSize
		}
	}
	return code
}

// code returns e's code, 0 for nil.
func code(e *kerr.Error) int16 {
	if e == nil {
		return 0
	}
	return e.Code
}
