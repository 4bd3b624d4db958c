package storage

import (
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
)

// Errors returned by Log and Dir. Those that correspond to a Kafka protocol
// outcome wrap the kerr value, so errors.Is(err, kerr.X) holds and the caller
// can put the code in its response; the rest are operational failures.
var (
	// ErrOffsetOutOfRange means a read asked for an offset below the log
	// start offset or above the log end offset (OFFSET_OUT_OF_RANGE).
	ErrOffsetOutOfRange = fmt.Errorf("storage: %w", kerr.OffsetOutOfRange)

	// ErrClosed means the Log or Dir was closed (or deleted) before or
	// during the call.
	ErrClosed = errors.New("storage: closed")

	// ErrLogFailed means a write, truncate or fsync failed and the log can
	// no longer promise what it holds; it refuses further appends until it
	// is reopened, which runs recovery (KAFKA_STORAGE_ERROR).
	ErrLogFailed = fmt.Errorf("storage: log failed: %w", kerr.KafkaStorageError)

	// ErrInvalidBatch means a batch handed to an append is not a
	// well-formed v2 batch (CORRUPT_MESSAGE).
	ErrInvalidBatch = fmt.Errorf("storage: invalid batch: %w", kerr.CorruptMessage)

	// ErrBatchTooLarge means a batch exceeds LogConfig.MaxMessageBytes
	// (MESSAGE_TOO_LARGE).
	ErrBatchTooLarge = fmt.Errorf("storage: batch too large: %w", kerr.MessageTooLarge)

	// ErrUnexpectedOffset means a follower append did not start at the log
	// end offset or its batches were not contiguous.
	ErrUnexpectedOffset = errors.New("storage: unexpected append offset")

	// ErrCorrupt means bytes read back from disk do not form the batches
	// the indexes promised. It is reported, never panicked on.
	ErrCorrupt = errors.New("storage: corrupt segment")

	// ErrDirLocked means another process (or another Dir in this one) holds
	// the log directory's lock file.
	ErrDirLocked = errors.New("storage: log directory is locked by another process")

	// ErrInconsistentTopicID means partition.metadata names a different
	// topic id than the one OpenLog was given (INCONSISTENT_TOPIC_ID).
	ErrInconsistentTopicID = fmt.Errorf("storage: %w", kerr.InconsistentTopicID)
)

// Idempotence outcomes. They wrap the Kafka error the produce response
// carries.
var (
	errInvalidProducerEpoch = kerr.InvalidProducerEpoch
	errOutOfOrderSequence   = kerr.OutOfOrderSequenceNumber
)
