// Package e2e holds samsa's end-to-end tests: they build the real binary,
// start it as a separate process on loopback, and drive it with clients
// nobody on the project wrote.
//
// What the suite covers, one file per concern:
//
//   - kcat_test.go: librdkafka through kcat — metadata listing, keyed
//     produce and consume, the four compression codecs, offsets by time.
//   - python_test.go: kafka-python 2.0.2 — the seed documents' JSON
//     producer and an assigning consumer, compressed producing.
//   - confluent_test.go: confluent-kafka — an idempotent producer's
//     delivery reports against what the log holds.
//   - kill_test.go: kill -9 under a continuous idempotent producer, in the
//     fsync and the page-cache flush policies, and SIGSTOP/SIGCONT; no
//     acknowledged record may be lost, duplicated or reordered.
//   - restart_test.go: SIGTERM and start again — no recovery scan, and
//     topics, configs, data, log start offsets and idempotent-producer state
//     all survive.
//   - retention_test.go: retention.ms, retention.bytes and DeleteRecords as
//     consumers see them.
//   - cli_test.go: the seed documents' command-line scenario with the binary
//     under Kafka's script names.
//   - badinput_test.go: malformed and hostile frames on a raw socket.
//
// The harness (broker_test.go, tools_test.go, wire_test.go) builds the binary
// once in TestMain, starts brokers with a generated server.properties on
// free ports and a temporary data directory, and keeps each broker's stderr
// in a per-test log that is printed when the test fails.
//
// Requirements: the Go toolchain, and for the client tests the Debian
// packages kcat, python3-kafka and python3-confluent-kafka (the Python tests
// run /usr/bin/python3, the interpreter those packages install into). A
// missing client skips its tests with a message naming the package to
// install; with SAMSA_E2E=1, as CI sets it, a missing client fails them.
//
// Run it from the module root:
//
//	go test ./e2e/
//	SAMSA_E2E=1 go test ./e2e/ -v
//	go test ./e2e/ -run 'TestKill' -v   # one concern
//
// SAMSA_E2E_SEED=n fixes the seed of the kill test's schedule.
package e2e
