#!/usr/bin/env bash
# Idle-connection scale: heap after GC and RSS per authenticated, subscribed connection, and the
# time one broadcast takes to reach all of them and the gateway's CPU per delivery, for each
# connection count given.
#   scripts/bench-connections.sh [--classes [K]] [--native] [--floor] [N...]
#                                 (default 5000 10000 18000; ./tandem bench-connections)
#   --classes [K]  also print the K (default 15) classes that grew most per connection
#                  (GC.class_histogram after a full GC, before and after connecting)
#   --native       also run the gateway with Native Memory Tracking (summary; it costs a little
#                  memory itself) and print what each native area grew per connection
#   --floor        the same broadcasts from the floor server (scripts/peer-bench/floor: Netty epoll,
#                  one pre-encoded write per subscriber, no gateway work) to the same clients: the
#                  time the same count of plain writes takes on this machine
#   --settle S     measure again S seconds later (S >= 30: every connection has had a heartbeat
#                  round trip, so its reader thread parked again with the JIT-compiled code's
#                  smaller stack; the first measurement includes stacks saved while still interpreted)
# Starts the packaged gateway (standalone, dev mode) on port 8080 with the launcher's JVM options
# (TANDEM_GATEWAY_JVM_OPTS, set by ./tandem; the same defaults as ./tandem run and the Helm chart)
# and spreads the Node `ws` clients over 4 processes (a process here may hold at most 20,000 open
# files).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/api-contract/typescript"
JAR="$ROOT/gateway/target/tandem-gateway.jar"
PROCS=4
CLASSES=0; NATIVE=0; SETTLE=0; FLOOR=0; COUNTS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --classes) CLASSES=15; if [[ "${2:-}" =~ ^[0-9]+$ ]] && [ "${2}" -lt 1000 ]; then CLASSES=$2; shift; fi; shift ;;
    --native) NATIVE=1; shift ;;
    --floor) FLOOR=1; shift ;;
    --settle) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "--settle needs seconds" >&2; exit 2; }; SETTLE=$2; shift 2 ;;
    *) COUNTS+=("$1"); shift ;;
  esac
done
[ -f "$JAR" ] || { echo "no $JAR: build first (./tandem run or ./tandem test)" >&2; exit 1; }
[ -d "$PKG/node_modules/ws" ] || (cd "$PKG" && npm ci --no-audit --no-fund --loglevel=error)
export NODE_PATH="$PKG/node_modules"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JVM_OPTS="${TANDEM_GATEWAY_JVM_OPTS:-}"
[ "$NATIVE" = 1 ] && JVM_OPTS="$JVM_OPTS -XX:NativeMemoryTracking=summary"
WORK="$(mktemp -d)"
GW=""; CLIENTS=(); BROADCASTS=3
cleanup() {
  [ ${#CLIENTS[@]} -gt 0 ] && kill "${CLIENTS[@]}" 2>/dev/null || true
  [ -n "$GW" ] && kill "$GW" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
# interrupted (Ctrl-C) or stopped: the gateway and the clients go too
trap 'exit 130' INT TERM
# histogram lines "class bytes instances" (after the full GC GC.class_histogram forces; RSS is read
# 2 s later, once G1's service thread has returned what that GC uncommitted)
# CPU seconds (user, kernel) of a process so far, from /proc
cpu() { awk '{sub(/.*\) /, ""); split($0, f, " "); printf "%.2f %.2f\n", f[12] / 100, f[13] / 100}' "/proc/$1/stat"; }
# connects N clients to PORT (4 processes), broadcasts BROADCASTS times and prints the time the
# slowest broadcast took to reach them all, and the server's CPU per delivery over the broadcasts
# (less what it spends idle over as long, measured just before); leaves the clients running
broadcast() {
  local port=$1 pid=$2 total=$3 c0 c1 c2 t0 t1 t2
  c0=$(cpu "$pid"); t0=$(date +%s.%N); sleep 6; c1=$(cpu "$pid"); t1=$(date +%s.%N)
  node "$PKG/bench/connections.cjs" pub "$port" "$BROADCASTS"; sleep 3
  c2=$(cpu "$pid"); t2=$(date +%s.%N)
  kill -TERM "${CLIENTS[@]}" 2>/dev/null || true
  wait "${CLIENTS[@]}" 2>/dev/null || true; CLIENTS=()
  cat "$WORK"/c*.log | awk '/broadcast/' | awk '{k=$3; if ($6>m[k]) m[k]=$6; c[k]+=$4} END {for (k in m) printf "  broadcast %s reached %d in %.1f ms\n", k, c[k], m[k]}' | sort
  read -r u0 s0 u1 s1 u2 s2 <<< "$c0 $c1 $c2"
  awk -v u0="$u0" -v s0="$s0" -v u1="$u1" -v s1="$s1" -v u2="$u2" -v s2="$s2" -v t0="$t0" -v t1="$t1" -v t2="$t2" \
      -v n=$((total * BROADCASTS)) 'BEGIN {k = (t2 - t1) / (t1 - t0); u = (u2 - u1) - (u1 - u0) * k; s = (s2 - s1) - (s1 - s0) * k;
      printf "  server CPU per delivery over the broadcasts: %.1f us (user %.1f, kernel %.1f; idle CPU subtracted)\n", (u + s) * 1e6 / n, u * 1e6 / n, s * 1e6 / n}'
}
# starts N clients on PORT and waits until they are subscribed
clients() {
  local n=$1 port=$2 per=$((n / PROCS))
  CLIENTS=()
  for p in $(seq 1 $PROCS); do node "$PKG/bench/connections.cjs" clients $per "$port" p$p > "$WORK/c$p.log" 2>&1 & CLIENTS+=($!); done
  for i in $(seq 1 600); do [ "$(cat "$WORK"/c*.log | grep -c ready)" -ge $PROCS ] && break; sleep 1; done
  sleep 3
}
histogram() { jcmd "$1" GC.class_histogram | awk '$1 ~ /^[0-9]+:$/ {print $4, $3, $2} /^Total/ {print "TOTAL", $3, $2}'; }
# NMT summary lines "area committed-KiB"
native() { jcmd "$1" VM.native_memory summary | awk '/^Total:/ {sub(/.*committed=/, ""); sub(/KB.*/, ""); print "Total", $0}
  /^-/ {name=$2; for (i=3;i<=NF;i++) if ($i !~ /^\(/) name=name"_"$i; else break; line=$0; sub(/.*committed=/, "", line); sub(/KB.*/, "", line); print name, line}'; }
# after connecting: heap after GC and RSS per connection against h0/R0, optional breakdowns
measure() {
  local total=$1 label=$2 H0 H1 R1
  histogram $GW > "$WORK/h1"; sleep 2; R1=$(awk '/VmRSS/{print $2}' /proc/$GW/status)
  [ "$NATIVE" = 1 ] && native $GW > "$WORK/n1"
  H0=$(awk '$1 == "TOTAL" {print $2}' "$WORK/h0"); H1=$(awk '$1 == "TOTAL" {print $2}' "$WORK/h1")
  awk -v h=$((H1 - H0)) -v r=$((R1 - R0)) -v n=$total -v l="$label" 'BEGIN {printf "%d %s: heap after GC %.1f KiB per connection, RSS %.1f KiB per connection\n", n, l, h/n/1024, r/n}'
  if [ "$CLASSES" -gt 0 ]; then
    echo "  heap per connection by class (bytes, instances; top $CLASSES):"
    awk -v n=$total 'NR == FNR {b[$1] = $2; c[$1] = $3; next} $1 != "TOTAL" {d = $2 - b[$1]; if (d > 0) printf "%10.1f %7.2f  %s\n", d / n, ($3 - c[$1]) / n, $1}' \
        "$WORK/h0" "$WORK/h1" | sort -rn | awk -v k="$CLASSES" 'NR <= k'
  fi
  if [ "$NATIVE" = 1 ]; then
    echo "  committed native memory per connection by NMT area (KiB; Java Heap is the committed heap, not live data):"
    awk -v n=$total 'NR == FNR {b[$1] = $2; next} {d = $2 - b[$1]; if (d > n / 100 || d < -n / 100) printf "%10.2f  %s\n", d / n, $1}' \
        "$WORK/n0" "$WORK/n1" | sort -rn
  fi
}
# the floor server on port 8090 (built once into a cache folder, like scripts/peer-bench does)
start_floor() {
  local src="$ROOT/scripts/peer-bench/floor" dir="${XDG_CACHE_HOME:-$HOME/.cache}/tandem-floor"
  mkdir -p "$dir" && cp -r "$src/pom.xml" "$src/src" "$dir/"
  if [ ! -f "$dir/target/floor.jar" ]; then (cd "$dir" && "${TANDEM_MVN:-mvn}" -q package) || exit 1; fi
  # shellcheck disable=SC2086
  "$JAVA" $JVM_OPTS --sun-misc-unsafe-memory-access=allow -jar "$dir/target/floor.jar" --port 8090 > "$WORK/floor.log" 2>&1 &
  GW=$!
  for i in $(seq 1 60); do curl -fs -o /dev/null 127.0.0.1:8090/health && break; sleep 0.5; done
}
[ -n "${TANDEM_GATEWAY_JVM_OPTS+set}" ] || echo "note: TANDEM_GATEWAY_JVM_OPTS is not set: the gateway runs without the launcher's JVM options (use ./tandem bench-connections)" >&2
echo "gateway JVM options: ${JVM_OPTS:-(none)}"
for N in "${COUNTS[@]:-5000 10000 18000}"; do
  for n in $N; do
    PER=$((n / PROCS))
    # shellcheck disable=SC2086
    "$JAVA" $JVM_OPTS -Dtandem.dev-mode=true -Dserver.port=8080 -Dtandem.connections-per-address=1000000 \
        -jar "$JAR" > "$WORK/gateway.log" 2>&1 &
    GW=$!
    for i in $(seq 1 120); do curl -fs -o /dev/null 127.0.0.1:8080/health && break; sleep 0.5; done
    histogram $GW > "$WORK/h0"; sleep 2; R0=$(awk '/VmRSS/{print $2}' /proc/$GW/status)
    [ "$NATIVE" = 1 ] && native $GW > "$WORK/n0"
    clients "$n" 8080
    total=$((PER * PROCS))
    measure "$total" "connections"
    if [ "$SETTLE" -gt 0 ]; then
      sleep "$SETTLE"
      measure "$total" "connections after ${SETTLE} s more"
    fi
    broadcast 8080 "$GW" "$total"
    kill $GW; wait $GW 2>/dev/null || true; GW=""
    if [ "$FLOOR" = 1 ]; then
      echo "$total floor (plain writes, scripts/peer-bench/floor):"
      start_floor
      clients "$n" 8090
      broadcast 8090 "$GW" "$total"
      kill $GW; wait $GW 2>/dev/null || true; GW=""
    fi
  done
done
