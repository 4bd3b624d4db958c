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
//   - groups_test.go: consumer groups as users meet them — the seed
//     documents' kafka-python group consumer, samsa group describe and
//     kafka-consumer-groups.sh (--describe, --reset-offsets), and groups
//     and committed offsets across SIGTERM and kill -9 of the broker.
//   - groups_failover_test.go: consumers killed with SIGKILL (samsa consume
//     -g, confluent-kafka committing by hand): their partitions move, and
//     nothing is lost or consumed twice but what the last commit allows.
//   - groups_coordinator_test.go: a group on three nodes whose coordinator
//     is killed with SIGKILL: the new coordinator has every acknowledged
//     commit, consuming and committing go on, and nothing goes back.
//   - groups_members_test.go: members joining and leaving — franz-go's
//     cooperative-sticky and range balancers, static membership and
//     fencing, kcat -G.
//   - badinput_test.go: malformed and hostile frames on a raw socket.
//   - cluster_faults_test.go: three nodes (RF=3, min.insync.replicas=2)
//     under the same producer while leaders and the active controller are
//     killed, followers paused and leaders cut off; a killed follower
//     rejoining the ISRs; a broker-only node joining; failover time.
//   - cluster_seed_test.go: the three-broker scenario from
//     examples/cluster/one-host, with Kafka's script names, and the seed
//     documents' log pipeline (pipeline_test.go): rsyslog's imfile and
//     omkafka in the place of Flume, tailing a file into topic test.
//
// The harness (broker_test.go, tools_test.go, wire_test.go) builds the binary
// once in TestMain, starts brokers with a generated server.properties on
// free ports and a temporary data directory, and keeps each broker's stderr
// in a per-test log that is printed when the test fails. Clients run to
// completion (runTool) or in the background (startTool), killed when the
// test ends; groupharness_test.go adds what the group tests share.
// cluster_test.go starts clusters of such processes, each node on a
// loopback address of its own, and netfault_test.go cuts links between
// those addresses with nftables.
//
// Requirements: the Go toolchain, and for the client tests the Debian
// packages kcat, python3-kafka, python3-confluent-kafka (the Python tests
// run /usr/bin/python3, the interpreter those packages install into) and
// rsyslog-kafka (the log pipeline). Link
// cuts need the nftables package and root (or CAP_NET_ADMIN). A missing
// client skips its tests with a message naming the package to install;
// with SAMSA_E2E=1, as CI sets it, a missing client fails them.
//
// Run it from the module root:
//
//	go test ./e2e/
//	SAMSA_E2E=1 go test ./e2e/ -v
//	go test ./e2e/ -run 'TestKill' -v   # one concern
//	go test ./e2e/ -run Group -v        # the consumer group tests
//
// SAMSA_E2E_SEED=n fixes the seed of the kill tests' and the cluster fault
// test's schedules. SAMSA_FAULT_DURATION=5m (a Go duration) makes
// TestClusterFaults repeat its rounds of faults for that long instead of
// running one; give go test a -timeout 6 minutes longer (the test refuses
// to start without it):
//
//	SAMSA_E2E=1 SAMSA_FAULT_DURATION=10m go test ./e2e/ -run 'TestClusterFaults$' -timeout 16m -v
//
// The example cluster's scenario needs localhost ports 9092–9094 and
// 19092–19094 and is skipped when one is taken; in a network namespace of
// its own it finds them free:
//
//	unshare -n sh -c 'ip link set lo up && go test ./e2e/ -run TestSeedClusterScenario -v'
package e2e
