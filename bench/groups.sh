#!/usr/bin/env bash
# bench/groups.sh — the group coordinator's benchmarks (issue #3): the time a
# 50-member group on 200 partitions takes to be Stable again after a member
# leaves, and the OffsetCommit requests per second one coordinator sustains,
# each durable (fsync) before its response. It builds samsa and
# bench/groups, starts a fresh server in bench/out, runs the benchmarks and
# stops the server. Results go to bench/out/groups.txt. Not part of
# `go test ./...`.
#
#   bench/groups.sh                        # both, with the defaults
#   bench/groups.sh -run commits -conns 64 # flags go to bench/groups (-help)
#   FLUSH=pagecache bench/groups.sh        # Kafka's flush policy: no fsync per commit
#   TARGET=kfake bench/groups.sh           # against kfake instead, for scale
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-bench/out}
TARGET=${TARGET:-samsa}
FLUSH=${FLUSH:-fsync}
SAMSA_ADDR=127.0.0.1:19092
CTRL_ADDR=127.0.0.1:19093
KFAKE_ADDR=127.0.0.1:19192

mkdir -p "$OUT"
BIN="$OUT/samsa"
BENCH="$OUT/groupbench"
go build -o "$BIN" ./cmd/samsa
go build -o "$BENCH" ./bench/groups

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

case "$TARGET" in
samsa)
	rm -rf "$OUT/groups-data"
	extra=()
	if [[ "$FLUSH" == pagecache ]]; then
		extra=(--override log.flush.interval.messages=9223372036854775807)
	fi
	# The initial rebalance delay only slows the first join of the 50
	# members; it is not part of what is measured.
	"$BIN" server --override "listeners=PLAINTEXT://$SAMSA_ADDR,CONTROLLER://$CTRL_ADDR" \
		--override "log.dirs=$OUT/groups-data" \
		--override group.initial.rebalance.delay.ms=0 "${extra[@]}" 2>"$OUT/groups-server.log" &
	SERVER_PID=$!
	ADDR=$SAMSA_ADDR
	;;
kfake)
	go test -c -o "$OUT/kfake.test" ./bench/kfakeserver
	SAMSA_KFAKE_ADDR=$KFAKE_ADDR "$OUT/kfake.test" -test.run TestServe >"$OUT/kfake.log" 2>&1 &
	SERVER_PID=$!
	ADDR=$KFAKE_ADDR
	;;
*)
	echo "TARGET must be samsa or kfake" >&2
	exit 2
	;;
esac
wait_ready "$ADDR"
"$BENCH" -b "$ADDR" "$@" | tee "$OUT/groups.txt"
