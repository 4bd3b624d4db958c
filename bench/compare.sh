#!/usr/bin/env bash
# bench/compare.sh — measures samsa against franz-go's in-memory kfake with the
# same `samsa perf` load, alternating between them in one run, and prints the
# figures with the ratios the targets are stated in.
#
#   bench/compare.sh                 # everything, 3 rounds
#   ROUNDS=1 bench/compare.sh        # quicker
#   ONLY=produce bench/compare.sh    # one of: produce consume e2e rss
#   BATCH=1048576 bench/compare.sh   # produce with franz-go's batch.size
#
# Load (issue #2): 1 KiB records, 8 partitions, one producer, acks=all,
# linger.ms=5 and Kafka 4's other producer defaults (batch.size=16384, uniform
# sticky partitioning). Each measurement gets a fresh server and data
# directory, warmed up with a second of traffic to another topic. Results go to
# bench/out/results.txt. This takes minutes and writes several GB to disk; it
# is not part of `go test ./...`.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
PRODUCE_RECORDS=${PRODUCE_RECORDS:-1000000}     # 1 GiB
CONSUME_RECORDS=${CONSUME_RECORDS:-1048576}     # a 1 GiB topic
E2E_RECORDS=${E2E_RECORDS:-500000}              # 10 s at 50,000/s, after 1 s of warm-up
E2E_RATE=${E2E_RATE:-50000}
RSS_RECORDS=${RSS_RECORDS:-5242880}             # 5 GiB
ONLY=${ONLY:-}
BATCH=${BATCH:-16384}                           # batch.size of the produce measurements
OUT=${OUT:-bench/out}
SAMSA_ADDR=127.0.0.1:19092
CTRL_ADDR=127.0.0.1:19093
KFAKE_ADDR=127.0.0.1:19192

mkdir -p "$OUT"
BIN="$OUT/samsa"
KFAKE="$OUT/kfake.test"
RESULTS="$OUT/results.txt"
go build -o "$BIN" ./cmd/samsa
go test -c -o "$KFAKE" ./bench/kfakeserver
: >"$RESULTS"

SERVER_PID=
stop_server() {
	if [[ -n "$SERVER_PID" ]]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
		SERVER_PID=
	fi
}
trap stop_server EXIT

wait_ready() { # addr
	for _ in $(seq 1 200); do
		if "$BIN" cluster info -b "$1" >/dev/null 2>&1; then return 0; fi
		sleep 0.1
	done
	echo "server at $1 did not come up" >&2
	exit 1
}

# start_samsa fsync|pagecache
start_samsa() {
	local extra=()
	if [[ "$1" == pagecache ]]; then
		extra=(--override log.flush.interval.messages=9223372036854775807)
	fi
	"$BIN" server --override "listeners=PLAINTEXT://$SAMSA_ADDR,CONTROLLER://$CTRL_ADDR" \
		--override "log.dirs=$OUT/data" "${extra[@]}" 2>"$OUT/server.log" &
	SERVER_PID=$!
	wait_ready "$SAMSA_ADDR"
	ADDR=$SAMSA_ADDR
}

start_kfake() {
	SAMSA_KFAKE_ADDR=$KFAKE_ADDR "$KFAKE" -test.run TestServe >"$OUT/kfake.log" 2>&1 &
	SERVER_PID=$!
	wait_ready "$KFAKE_ADDR"
	ADDR=$KFAKE_ADDR
}

start() { # samsa-fsync | samsa-pagecache | kfake
	# The previous measurement's files are deleted and the disk written
	# back first, not during this one.
	rm -rf "$OUT/data"
	sync
	case "$1" in
	samsa-fsync) start_samsa fsync ;;
	samsa-pagecache) start_samsa pagecache ;;
	kfake) start_kfake ;;
	esac
	"$BIN" topic create perf -p 8 -b "$ADDR" >/dev/null
	"$BIN" topic create warmup -p 8 -b "$ADDR" >/dev/null
	# Warm up connections, producer ids and the first segment files, which
	# otherwise dominate the first 60 ms and with them the high percentiles.
	"$BIN" perf produce --bootstrap-server "$ADDR" --topic warmup --num-records 20000 \
		--record-size 1024 --throughput 20000 --producer-props acks=all >/dev/null
}

json() { # field < json
	python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"
}

record() { # name value
	echo "$1 $2" | tee -a "$RESULTS"
}

produce() { # records
	"$BIN" perf produce --bootstrap-server "$ADDR" --topic perf --num-records "$1" \
		--record-size 1024 --throughput -1 --producer-props acks=all linger.ms=5 "batch.size=$BATCH" --json 2>/dev/null
}

want() { [[ -z "$ONLY" || "$ONLY" == "$1" ]]; }

for round in $(seq 1 "$ROUNDS"); do
	if want produce; then
		for target in samsa-fsync kfake samsa-pagecache; do
			start "$target"
			r=$(produce "$PRODUCE_RECORDS")
			record "produce.$target.records_per_sec" "$(json records_per_sec <<<"$r")"
			stop_server
		done
	fi
	if want consume; then
		for target in samsa-fsync kfake; do
			start "$target"
			produce "$CONSUME_RECORDS" >/dev/null
			r=$("$BIN" perf consume --bootstrap-server "$ADDR" --topic perf --messages "$CONSUME_RECORDS" --json 2>/dev/null)
			record "consume.$target.mb_per_sec" "$(json mb_per_sec <<<"$r")"
			stop_server
		done
	fi
	if want e2e; then
		# kfake too: an in-memory broker under the same load shows what the
		# client and the shared cores alone add to the tail; page-cache mode
		# shows what the fsync before each acknowledgement adds.
		for target in samsa-fsync samsa-pagecache kfake; do
			start "$target"
			r=$("$BIN" perf e2e --bootstrap-server "$ADDR" --topic perf --num-records "$E2E_RECORDS" \
				--throughput "$E2E_RATE" --warmup-records "$E2E_RATE" --record-size 1024 \
				--producer-props acks=all linger.ms=5 --json 2>/dev/null)
			record "e2e.$target.p50_us" "$(json p50_us <<<"$r")"
			record "e2e.$target.p99_us" "$(json p99_us <<<"$r")"
			record "e2e.$target.p999_us" "$(json p999_us <<<"$r")"
			record "e2e.$target.records_per_sec" "$(json records_per_sec <<<"$r")"
			stop_server
		done
	fi
done

if want rss; then
	start samsa-fsync
	produce "$RSS_RECORDS" >/dev/null
	rss_kb=$(awk '/^VmRSS/ {print $2}' "/proc/$SERVER_PID/status")
	record "rss.samsa-fsync.after_5gib_mb" "$((rss_kb / 1024))"
	stop_server
fi

# Summary: medians per measurement and the ratios the targets use.
python3 - "$RESULTS" <<'EOF'
import statistics, sys
vals = {}
for line in open(sys.argv[1]):
    k, v = line.split()
    vals.setdefault(k, []).append(float(v))
med = {k: statistics.median(v) for k, v in vals.items()}
def show(label, value, target, ok):
    print(f"{label:<58} {value:>12}   target {target:<10} {'ok' if ok else 'MISSED'}")
print()
print(f"medians over the rounds ({len(next(iter(vals.values()), []))} each)")
if "produce.samsa-fsync.records_per_sec" in med:
    f, k, p = med["produce.samsa-fsync.records_per_sec"], med["produce.kfake.records_per_sec"], med["produce.samsa-pagecache.records_per_sec"]
    print(f"  produce records/s: samsa fsync {f:,.0f}, samsa page cache {p:,.0f}, kfake {k:,.0f}")
    show("produce, acks=all, fsync mode / kfake", f"{f/k:.2f}x", ">= 1.5x", f/k >= 1.5)
    show("produce, fsync mode / page-cache mode", f"{f/p:.2f}x", ">= 0.9x", f/p >= 0.9)
if "consume.samsa-fsync.mb_per_sec" in med:
    s, k = med["consume.samsa-fsync.mb_per_sec"], med["consume.kfake.mb_per_sec"]
    print(f"  consume MB/s: samsa {s:,.0f}, kfake {k:,.0f}")
    show("consume a 1 GiB topic from the start / kfake", f"{s/k:.2f}x", ">= 1.5x", s/k >= 1.5)
if "e2e.samsa-fsync.p99_us" in med:
    p99, p999 = med["e2e.samsa-fsync.p99_us"] / 1000, med["e2e.samsa-fsync.p999_us"] / 1000
    print(f"  e2e at {med['e2e.samsa-fsync.records_per_sec']:,.0f} records/s: p50 {med['e2e.samsa-fsync.p50_us']/1000:.2f} ms")
    show("end-to-end p99, acks=all, fsync mode", f"{p99:.2f} ms", "< 5 ms", p99 < 5)
    show("end-to-end p99.9, acks=all, fsync mode", f"{p999:.2f} ms", "< 20 ms", p999 < 20)
    if "e2e.samsa-pagecache.p99_us" in med:
        print(f"  samsa page-cache mode, same load: p50 {med['e2e.samsa-pagecache.p50_us']/1000:.2f} ms, "
              f"p99 {med['e2e.samsa-pagecache.p99_us']/1000:.2f} ms, p99.9 {med['e2e.samsa-pagecache.p999_us']/1000:.2f} ms")
    if "e2e.kfake.p99_us" in med:
        print(f"  kfake (in memory), same load: p50 {med['e2e.kfake.p50_us']/1000:.2f} ms, "
              f"p99 {med['e2e.kfake.p99_us']/1000:.2f} ms, p99.9 {med['e2e.kfake.p999_us']/1000:.2f} ms")
if "rss.samsa-fsync.after_5gib_mb" in med:
    r = med["rss.samsa-fsync.after_5gib_mb"]
    show("broker RSS after producing 5 GiB", f"{r:.0f} MB", "< 200 MB", r < 200)
EOF
