#!/usr/bin/env bash
# bench/cluster.sh — the replication benchmarks (issue #4), on this one
# machine with the client sharing its cores:
#
#   - produce throughput, 1 KiB records, acks=all: a topic with three
#     replicas on a three-node cluster against a topic with one replica on a
#     one-node cluster, alternating in each round; the ratio is the figure.
#     It runs twice: with Kafka's producer defaults (batch.size=16384; the
#     idempotent franz-go producer keeps at most five requests in flight per
#     broker, each with one 16 KiB batch per partition, so this is a
#     latency measurement: each acks=all round trip adds two network hops
#     and a follower fsync), and with batch.size=1048576 (franz-go's
#     default), a throughput setting;
#   - end-to-end latency at 20,000 records/s on the three-replica topic
#     (produce with acks=all, consume back; the record is visible once every
#     in-sync replica has it durably);
#   - time from SIGKILL of a partition's leader to the first acknowledged
#     acks=all produce on that partition, with default timeouts.
#
# Nodes run the real binary on 127.0.3.x (cluster) and 127.0.4.1 (single);
# data goes to bench/out/cluster. Results go to bench/out/cluster.txt. Not
# part of `go test ./...`. Knobs: ROUNDS (3), PRODUCE_RECORDS (1000000),
# E2E_RECORDS (400000), FLUSH=pagecache for Kafka's flush policy,
# ONLY=produce|e2e|failover.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-bench/out}
ROUNDS=${ROUNDS:-3}
PRODUCE_RECORDS=${PRODUCE_RECORDS:-1000000}
E2E_RECORDS=${E2E_RECORDS:-400000}
E2E_RATE=${E2E_RATE:-20000}
FLUSH=${FLUSH:-fsync}
ONLY=${ONLY:-}
DATA="$OUT/cluster"
RESULTS="$OUT/cluster.txt"

mkdir -p "$OUT"
: >"$RESULTS"
BIN="$OUT/samsa"
go build -o "$BIN" ./cmd/samsa

PIDS=()
stop_all() {
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
	PIDS=()
}
trap stop_all EXIT

flush_props() {
	if [[ "$FLUSH" == pagecache ]]; then
		echo "--override log.flush.interval.messages=9223372036854775807"
	fi
}

# node id ip voters: one node, broker and controller.
node() {
	mkdir -p "$DATA/n$1"
	# shellcheck disable=SC2046
	"$BIN" server --override "node.id=$1" --override "listeners=PLAINTEXT://$2:9092,CONTROLLER://$2:9093" \
		--override "controller.quorum.voters=$3" --override "log.dirs=$DATA/n$1" $(flush_props) \
		2>"$DATA/n$1.log" &
	PIDS+=($!)
}

wait_ready() { # addr brokers
	for _ in $(seq 1 300); do
		if [[ $("$BIN" cluster info -b "$1" --format json 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["brokers"]))' 2>/dev/null) == "$2" ]]; then
			return 0
		fi
		sleep 0.1
	done
	echo "cluster at $1 did not come up with $2 brokers" >&2
	exit 1
}

CLUSTER=127.0.3.1:9092,127.0.3.2:9092,127.0.3.3:9092
SINGLE=127.0.4.1:9092

start_cluster() {
	rm -rf "$DATA"
	sync # the previous measurement's writes and deletions reach the disk first
	local voters=1@127.0.3.1:9093,2@127.0.3.2:9093,3@127.0.3.3:9093
	for i in 1 2 3; do node "$i" "127.0.3.$i" "$voters"; done
	wait_ready 127.0.3.1:9092 3
	"$BIN" topic create perf -p 3 -r 3 -c min.insync.replicas=2 -b "$CLUSTER" >/dev/null
	warm "$CLUSTER"
}

start_single() {
	rm -rf "$DATA"
	sync # the previous measurement's writes and deletions reach the disk first
	node 1 127.0.4.1 1@127.0.4.1:9093
	wait_ready "$SINGLE" 1
	"$BIN" topic create perf -p 3 -r 1 -b "$SINGLE" >/dev/null
	warm "$SINGLE"
}

# Connections, producer ids and first segments otherwise dominate the
# first tens of milliseconds.
warm() {
	"$BIN" topic create warmup -p 3 -r 1 -b "$1" >/dev/null
	"$BIN" perf produce --bootstrap-server "$1" --topic warmup --num-records 20000 \
		--record-size 1024 --throughput 20000 --producer-props acks=all >/dev/null 2>&1 || true
}

json() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
record() { echo "$1 $2" | tee -a "$RESULTS"; }
want() { [[ -z "$ONLY" || "$ONLY" == "$1" ]]; }

produce() { # brokers [producer property...]
	local brokers=$1
	shift
	"$BIN" perf produce --bootstrap-server "$brokers" --topic perf --num-records "$PRODUCE_RECORDS" \
		--record-size 1024 --throughput -1 --producer-props acks=all "$@" --json 2>/dev/null
}

for round in $(seq 1 "$ROUNDS"); do
	if want produce; then
		for batch in default 1048576; do
			props=()
			[[ $batch != default ]] && props=("batch.size=$batch")
			start_single
			record "produce.rf1.batch_$batch.records_per_sec" "$(produce "$SINGLE" "${props[@]}" | json records_per_sec)"
			stop_all
			start_cluster
			record "produce.rf3.batch_$batch.records_per_sec" "$(produce "$CLUSTER" "${props[@]}" | json records_per_sec)"
			stop_all
		done
	fi
	if want e2e; then
		start_cluster
		r=$("$BIN" perf e2e --bootstrap-server "$CLUSTER" --topic perf --num-records "$E2E_RECORDS" \
			--throughput "$E2E_RATE" --warmup-records "$E2E_RATE" --record-size 1024 \
			--producer-props acks=all --json 2>/dev/null)
		record "e2e.rf3.p50_us" "$(json p50_us <<<"$r")"
		record "e2e.rf3.p99_us" "$(json p99_us <<<"$r")"
		record "e2e.rf3.p999_us" "$(json p999_us <<<"$r")"
		record "e2e.rf3.records_per_sec" "$(json records_per_sec <<<"$r")"
		stop_all
	fi
done

secs() { # "9.4s" or "950ms" -> seconds
	sed -E 's/^([0-9.]+)(ms|s)$/\1 \2/' | awk '{ if ($2 == "ms") print $1/1000; else print $1 }'
}

if want failover; then
	# The e2e test measures it against real processes with default timeouts,
	# with two producers: one refreshing metadata 250 ms after an error (as
	# librdkafka and the Java client do), one with franz-go's 5 s.
	for _ in $(seq 1 "$ROUNDS"); do
		line=$(go test ./e2e/ -run 'TestLeaderFailoverTime$' -count=1 -v 2>&1 | grep 'first acks=all write acknowledged' | head -1 || true)
		fast=$(grep -oE 'acknowledged after [0-9.]+(ms|s)' <<<"$line" | awk '{print $3}' | secs)
		slow=$(grep -oE 'refresh after [0-9.]+(ms|s)' <<<"$line" | awk '{print $3}' | secs)
		elected=$(grep -oE 'in the metadata after [0-9.]+(ms|s)' <<<"$line" | awk '{print $5}' | secs)
		[[ -n "$elected" ]] && record "failover.kill_leader_to_new_leader_s" "$elected"
		[[ -n "$fast" ]] && record "failover.kill_leader_to_ack_s" "$fast"
		[[ -n "$slow" ]] && record "failover.kill_leader_to_ack_franz_default_s" "$slow"
	done
fi

python3 - "$RESULTS" <<'EOF'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}
def show(label, value, target, ok):
    print(f"{label:<62} {value:>12}   target {target:<10} {'ok' if ok else 'MISSED'}")
print()
print("medians over the rounds")
for batch, label in (("default", "batch.size=16384"), ("1048576", "batch.size=1048576")):
    k1, k3 = f"produce.rf1.batch_{batch}.records_per_sec", f"produce.rf3.batch_{batch}.records_per_sec"
    if k3 in med and k1 in med:
        r1, r3 = med[k1], med[k3]
        print(f"  produce records/s, 1 KiB, acks=all, {label}: RF=1 one node {r1:,.0f}, RF=3 three nodes {r3:,.0f}")
        show(f"produce RF=3 / RF=1, {label}", f"{r3/r1:.2f}", ">= 0.45", r3 / r1 >= 0.45)
if "e2e.rf3.p99_us" in med:
    print(f"  e2e at {med['e2e.rf3.records_per_sec']:,.0f} records/s: p50 {med['e2e.rf3.p50_us']/1000:.2f} ms, p99.9 {med['e2e.rf3.p999_us']/1000:.2f} ms")
    p99 = med["e2e.rf3.p99_us"] / 1000
    show("end-to-end p99 at 20,000 records/s, RF=3", f"{p99:.2f} ms", "< 20 ms", p99 < 20)
if "failover.kill_leader_to_ack_s" in med:
    print(f"  SIGKILL of a leader: new leader in the metadata after {med.get('failover.kill_leader_to_new_leader_s', 0):.2f} s;"
          f" franz-go with its default 5 s metadata refresh acknowledged after {med.get('failover.kill_leader_to_ack_franz_default_s', 0):.2f} s")
    f = med["failover.kill_leader_to_ack_s"]
    show("SIGKILL of a leader to the first acknowledged produce", f"{f:.2f} s", "< 10 s", f < 10)
EOF
