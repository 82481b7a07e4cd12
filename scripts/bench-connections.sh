#!/usr/bin/env bash
# Idle-connection scale: heap after GC and RSS per authenticated, subscribed connection, and the
# time one broadcast takes to reach all of them, for each connection count given.
#   scripts/bench-connections.sh [N...]      (default 5000 10000 18000; ./tandem bench-connections)
# Starts the packaged gateway (standalone, dev mode) on port 8080 and spreads the Node `ws`
# clients over 4 processes (a process here may hold at most 20,000 open files).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/api-contract/typescript"
JAR="$ROOT/gateway/target/tandem-gateway.jar"
PROCS=4
[ -f "$JAR" ] || { echo "no $JAR: build first (./tandem run or ./tandem test)" >&2; exit 1; }
[ -d "$PKG/node_modules/ws" ] || (cd "$PKG" && npm ci --no-audit --no-fund --loglevel=error)
export NODE_PATH="$PKG/node_modules"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
for N in "${@:-5000 10000 18000}"; do
  for n in $N; do
    PER=$((n / PROCS))
    "$JAVA" ${TANDEM_JAVA_OPTS:-} -Dtandem.dev-mode=true -Dserver.port=8080 -Dtandem.connections-per-address=1000000 \
        -jar "$JAR" > "$WORK/gateway.log" 2>&1 &
    PID=$!
    for i in $(seq 1 120); do curl -fs -o /dev/null 127.0.0.1:8080/health && break; sleep 0.5; done
    H0=$(jcmd $PID GC.class_histogram | awk '/Total/{b=$3} END {print b}'); R0=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
    for p in $(seq 1 $PROCS); do node "$PKG/bench/connections.cjs" clients $PER 8080 p$p > "$WORK/c$p.log" 2>&1 & done
    for i in $(seq 1 600); do [ "$(cat "$WORK"/c*.log | grep -c ready)" -ge $PROCS ] && break; sleep 1; done
    sleep 3
    H1=$(jcmd $PID GC.class_histogram | awk '/Total/{b=$3} END {print b}'); R1=$(awk '/VmRSS/{print $2}' /proc/$PID/status)
    total=$((PER * PROCS))
    awk -v h=$((H1 - H0)) -v r=$((R1 - R0)) -v n=$total 'BEGIN {printf "%d connections: heap after GC %.1f KiB per connection, RSS %.1f KiB per connection\n", n, h/n/1024, r/n}'
    node "$PKG/bench/connections.cjs" pub 8080 3; sleep 5
    pkill -TERM -f "bench/connections.cjs clients" || true; sleep 2
    cat "$WORK"/c*.log | grep broadcast | awk '{k=$3; if ($6>m[k]) m[k]=$6; c[k]+=$4} END {for (k in m) printf "  broadcast %s reached %d in %.1f ms\n", k, c[k], m[k]}' | sort
    kill $PID; wait $PID 2>/dev/null || true
  done
done
