#!/usr/bin/env bash
# Tandem (standalone, the packaged jar) against the Socket.IO 4.8 peer, with the same Node load
# generator, alternating, in one run. Prints one JSON line per case.
# usage: scripts/peer-bench/side-by-side.sh [ROUNDS]   (from the project root, after a build; ./tandem bench-peer)
set -u
P=$(pwd); ROUNDS=${1:-2}
B=$(cd "$(dirname "$0")" && pwd)
JAVA=${JAVA:-$(ls -d /usr/lib/jvm/temurin-2*/bin/java /usr/lib/jvm/java-2*/bin/java 2>/dev/null | head -1)}
SECRET=tandem-development-secret-do-not-use-in-production
# npm packages go to a cache folder (this folder may be read-only)
N=${XDG_CACHE_HOME:-$HOME/.cache}/tandem-peer-bench
if [ ! -d "$N/node_modules" ]; then
  mkdir -p "$N" && cp "$B/package.json" "$B/package-lock.json" "$N/" && (cd "$N" && npm ci --silent) || { echo "npm ci failed in $N"; exit 1; }
fi
export NODE_PATH="$N/node_modules"
[ -f "$P/gateway/target/tandem-gateway.jar" ] || { echo "build the gateway first"; exit 1; }
LOG=$(mktemp)
(cd "$P" && setsid "$JAVA" ${TANDEM_JAVA_OPTS:-} -Dtandem.dev-mode=true -Dserver.port=8080 \
   -Dtandem.connections-per-address=1000000 -jar gateway/target/tandem-gateway.jar > "$LOG" 2>&1 &)
for i in $(seq 1 60); do curl -fs -o /dev/null 127.0.0.1:8080/health && break; sleep 0.5; done
TPID=$(ss -ltnpH 'sport = :8080' | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[ -n "$TPID" ] || { echo "gateway did not start (see $LOG)"; exit 1; }
t() { node "$B/loadgen.js" --target tandem --secret "$SECRET" --server-pid "$TPID" "$@"; }
s() { "$B/run-peer.sh" "$@"; }
# FLOOR=1 adds the floor (floor/: Netty epoll, one pre-encoded write per subscriber, no gateway
# work: the least a server can spend per delivery on this machine)
f() { [ "${FLOOR:-0}" = 1 ] && bash "$B/floor/run-floor.sh" "$@" | sed 's/"target":"tandem"/"target":"floor"/'; return 0; }
t --conns 1000 --msgs 300 --rate 200 > /dev/null   # JVM warm-up, not counted
for r in $(seq 1 "$ROUNDS"); do
  t --conns 1000 --msgs 200 --rate 20;  s --conns 1000 --msgs 200 --rate 20;  f --conns 1000 --msgs 200 --rate 20
  t --conns 1000 --msgs 200 --rate 100; s --conns 1000 --msgs 200 --rate 100; f --conns 1000 --msgs 200 --rate 100
  t --conns 2000 --msgs 1000 --rate 2000; s --conns 2000 --msgs 1000 --rate 2000; f --conns 2000 --msgs 1000 --rate 2000
done
kill "$TPID"; for i in $(seq 1 40); do kill -0 "$TPID" 2>/dev/null || break; sleep 0.25; done; kill -9 "$TPID" 2>/dev/null
exit 0
