package cli

import (
	"context"
	"errors"
	"slices"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
)

// java.go reproduces what Kafka's tools print the way Java decides it: the
// iteration order of java.util.HashMap and HashSet, which Kafka's tools
// print from without sorting (it looks random but is fixed for given keys,
// so samsa's tools print the same lines in the same order as Kafka's), and
// the Java exception Kafka's client makes of an error code.

// javaHashOrder returns tps, without repeats, in the order Kafka iterates a
// HashSet (or a HashMap's keys) it filled with them in the order given,
// starting from the default size.
func javaHashOrder(tps []topicPartition) []topicPartition {
	return javaMapOrder(firstOccurrences(tps), javaTopicPartitionHash, javaDefaultCapacity)
}

// firstOccurrences drops repeats, keeping first occurrences, as adding to a set
// does.
func firstOccurrences[T comparable](xs []T) []T {
	seen := map[T]bool{}
	var out []T
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// javaTopicPartitionHash is TopicPartition.hashCode: 31 * (31 + partition)
// + topic.hashCode(), in wrapping 32-bit arithmetic.
func javaTopicPartitionHash(tp topicPartition) int32 {
	return 31*(31+tp.partition) + javaStringHash(tp.topic)
}

// Table sizes a java.util.HashMap starts with (OpenJDK 17), for
// javaMapOrder.
const javaDefaultCapacity = 16 // new HashMap<>(), HashSet<>(), Collectors.toMap and toSet

// javaSizedCapacity is new HashMap<>(n)'s: n rounded up to a power of two.
func javaSizedCapacity(n int) uint32 {
	c := uint32(1)
	for c < uint32(n) {
		c <<= 1
	}
	return c
}

// javaCopyCapacity is new HashMap<>(m)'s for a map of n entries.
func javaCopyCapacity(n int) uint32 {
	return javaSizedCapacity(int(float32(n)/0.75 + 1))
}

// javaSetCopyCapacity is new HashSet<>(c)'s for a collection of n elements.
func javaSetCopyCapacity(n int) uint32 {
	return javaSizedCapacity(max(int(float32(n)/0.75)+1, 16))
}

// javaMapOrder returns keys, which must be distinct, in the order a
// java.util.HashMap whose table starts at capacity (a power of two)
// iterates them after they were put into it in the order given: buckets in
// index order, a bucket's keys in arrival order, the index the spread hash
// masked by the capacity, which doubles when the map is over three
// quarters full or a bucket reaches nine keys in a table below 64. Tree
// bins (nine or more keys in one bucket of a larger table, which Java
// iterates in another order) are not modelled: that takes a pathological
// set of keys.
func javaMapOrder[K any](keys []K, hash func(K) int32, capacity uint32) []K {
	spread := make([]uint32, len(keys))
	inBucket := map[uint32]int{}
	recount := func(n int) {
		clear(inBucket)
		for _, h := range spread[:n] {
			inBucket[h&(capacity-1)]++
		}
	}
	for i, k := range keys {
		h := uint32(hash(k))
		spread[i] = h ^ h>>16 // HashMap.hash
		inBucket[spread[i]&(capacity-1)]++
		if inBucket[spread[i]&(capacity-1)] >= 9 && capacity < 64 {
			capacity *= 2 // treeifyBin resizes a small table instead
			recount(i + 1)
		}
		if uint32(i+1) > capacity*3/4 {
			capacity *= 2
			recount(i + 1)
		}
	}
	idx := make([]int, len(keys))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return int(spread[a]&(capacity-1)) - int(spread[b]&(capacity-1))
	})
	out := make([]K, len(keys))
	for i, j := range idx {
		out[i] = keys[j]
	}
	return out
}

// javaIntHash is Integer.hashCode.
func javaIntHash(v int32) int32 { return v }

// javaStringHash is String.hashCode: the UTF-16 code units times powers of
// 31, in wrapping 32-bit arithmetic.
func javaStringHash(s string) int32 {
	var h int32
	for _, u := range utf16.Encode([]rune(s)) {
		h = 31*h + int32(u)
	}
	return h
}

// javaExceptions names the Java exception Kafka's client raises for an
// error code, so that messages read as Kafka's tool prints them.
var javaExceptions = map[int16]string{
	kerr.RequestTimedOut.Code:            "TimeoutException",
	kerr.UnknownTopicOrPartition.Code:    "UnknownTopicOrPartitionException",
	kerr.CoordinatorLoadInProgress.Code:  "CoordinatorLoadInProgressException",
	kerr.CoordinatorNotAvailable.Code:    "CoordinatorNotAvailableException",
	kerr.NotCoordinator.Code:             "NotCoordinatorException",
	kerr.IllegalGeneration.Code:          "IllegalGenerationException",
	kerr.InvalidGroupID.Code:             "InvalidGroupIdException",
	kerr.UnknownMemberID.Code:            "UnknownMemberIdException",
	kerr.RebalanceInProgress.Code:        "RebalanceInProgressException",
	kerr.TopicAuthorizationFailed.Code:   "TopicAuthorizationException",
	kerr.GroupAuthorizationFailed.Code:   "GroupAuthorizationException",
	kerr.UnsupportedVersion.Code:         "UnsupportedVersionException",
	kerr.NonEmptyGroup.Code:              "GroupNotEmptyException",
	kerr.GroupIDNotFound.Code:            "GroupIdNotFoundException",
	kerr.GroupSubscribedToTopic.Code:     "GroupSubscribedToTopicException",
	kerr.OffsetOutOfRange.Code:           "OffsetOutOfRangeException",
	kerr.NotLeaderForPartition.Code:      "NotLeaderOrFollowerException",
	kerr.PolicyViolation.Code:            "PolicyViolationException",
	kerr.UnknownServerError.Code:         "UnknownServerException",
	kerr.ClusterAuthorizationFailed.Code: "ClusterAuthorizationException",
	kerr.KafkaStorageError.Code:          "KafkaStorageException",
	kerr.LogDirNotFound.Code:             "LogDirNotFoundException",
	kerr.InvalidConfig.Code:              "InvalidConfigurationException",
	kerr.InvalidRequest.Code:             "InvalidRequestException",
	kerr.ResourceNotFound.Code:           "ResourceNotFoundException",
	kerr.BrokerNotAvailable.Code:         "BrokerNotAvailableException",
}

// javaExecutionError is a broker's error as Kafka's admin tools print it
// when they fail: the ExecutionException the admin client's future threw,
// around the exception of the error code, with the broker's message or
// else the code's description (the stack trace Java prints after it is
// left out).
type javaExecutionError struct {
	code int16
	msg  string
}

func (e *javaExecutionError) Error() string {
	return "java.util.concurrent.ExecutionException: " + javaExceptionName(e.code) + ": " + e.msg
}

// javaExecution is err as a javaExecutionError when it is a Kafka error
// code, with brokerMsg, the response's message, when there is one; any
// other error as it is.
func javaExecution(err error, brokerMsg string) error {
	var ke *kerr.Error
	if !errors.As(err, &ke) {
		return err
	}
	if brokerMsg == "" {
		brokerMsg = ke.Description
	}
	return &javaExecutionError{ke.Code, brokerMsg}
}

// javaErr prints err as a Java exception's toString would.
func javaErr(err error) string {
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return javaExceptionText(ke.Code)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "org.apache.kafka.common.errors.TimeoutException: " + err.Error()
	}
	return err.Error()
}

// javaExceptionName is the class name Kafka prints for an error code, or,
// for a code not in javaExceptions, the code's Kafka name.
func javaExceptionName(code int16) string {
	err := kerr.TypedErrorForCode(code) // an unknown code is UNKNOWN_SERVER_ERROR, as in Kafka
	name, ok := javaExceptions[err.Code]
	if !ok {
		return err.Message
	}
	return "org.apache.kafka.common.errors." + name
}

// javaExceptionText is the exception as Java's toString prints it: the
// class name and the error's description.
func javaExceptionText(code int16) string {
	return javaExceptionName(code) + ": " + kerr.TypedErrorForCode(code).Description
}
