// Package cli is samsa's command line: every user command except running
// the broker itself. It is a Kafka client like any other, built on franz-go
// (kgo, kadm, kmsg) only, and never imports broker internals, so everything
// it does works against any Kafka-compatible cluster. The one internal
// import is config, for its Java-properties parser.
//
// # What it owns
//
//   - The samsa nouns, rpk-like: topic (create, list, describe, delete,
//     add-partitions, alter-config, trim-prefix), produce, consume, cluster
//     info, perf (produce, consume, e2e), group (list, describe, seek, delete,
//     offset-delete). Tables with aligned upper-case
//     columns, --format json where scripts want it.
//   - The Kafka tool personalities: kafka-topics.sh,
//     kafka-console-producer.sh, kafka-console-consumer.sh, kafka-consumer-groups.sh, kafka-configs.sh,
//     kafka-metadata-quorum.sh, kafka-producer-perf-test.sh, kafka-consumer-perf-test.sh,
//     kafka-server-start.sh and kafka-server-stop.sh, with Kafka's flag names (old and KIP-1147
//     spellings) and Kafka's output formats, so runbooks keep working.
//   - The flag layer (flags.go), Kafka client properties files and their
//     mapping to kgo options (props.go, client.go, client_security.go).
//
// It does not own the broker: `samsa server` and kafka-server-start.sh hand
// their arguments to the Serve function cmd/samsa passes to Main (which
// also detaches the process for -daemon), and kafka-storage.sh format
// hands its request to Format. kafka-server-stop.sh only finds
// servers in /proc and signals them.
//
// # Dispatch
//
// Main looks at the base name of args[0] first: a binary (or symlink) named
// kafka-topics.sh or kafka-topics runs that personality. Otherwise args[1]
// names a noun (nouns in main.go) or, as `samsa kafka-topics.sh …`, a
// personality (personalities in kafka.go). A noun with verbs dispatches
// through runSub.
//
// # Conventions
//
// Exit codes: 0 success, 1 the operation failed (a broker error, a record
// that could not be produced), 2 the command line was wrong (the problem
// and the usage text go to stderr; --help prints the usage to stdout and
// exits 0). Kafka's tools exit 1 for usage errors; the personalities exit 2
// like the nouns. Operation errors name the Kafka error ("TOPIC_ALREADY_EXISTS:
// Topic 'x' already exists."); the personalities print Kafka's own texts.
//
// The cluster is found through -b/--brokers (personalities:
// --bootstrap-server, and --broker-list where old tools took it), then
// bootstrap.servers in the client properties, then $SAMSA_BROKERS, then
// localhost:9092. Client properties use Kafka's names (acks, linger.ms,
// security.protocol, …) in one table (client.go); unknown ones draw a
// warning, never a failure.
//
// Concurrency: a command runs on the caller's goroutine. kgo calls produce
// promises serially on its own goroutine; the writers in env are locked so
// promises and the main goroutine can both print. The only goroutine cli
// starts itself is perf e2e's consumer, which its run method starts and
// waits for. Every command returns when its context is cancelled (Ctrl-C),
// closing its clients.
//
// # Where to start reading
//
// main.go (Main, env, nouns), then flags.go. For a noun, its file:
// topic.go, produce.go, consume.go with consume_loop.go and offsets.go,
// cluster.go, perf.go, group.go with group_snapshot.go. For a personality, kafka.go and then kafka_*.go.
package cli
