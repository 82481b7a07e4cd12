#!/usr/bin/env bash
# Tandem against Socket.IO 4.8 under one Node load generator (the side-by-side harness in
# scripts/peer-bench, or $TANDEM_PEER_BENCH), alternating, then the ratios Tandem / Socket.IO per
# case and round: server CPU per delivery (user and kernel time apart), p50, p99, and the losses.
#   scripts/bench-peer.sh [ROUNDS]          (./tandem bench-peer; default 2 rounds)
# The gateway is the packaged jar with the launcher's JVM options (TANDEM_JAVA_OPTS).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
HARNESS="${TANDEM_PEER_BENCH:-$ROOT/scripts/peer-bench}"
[ -f "$HARNESS/side-by-side.sh" ] || { echo "no side-by-side harness at $HARNESS (set TANDEM_PEER_BENCH)" >&2; exit 1; }
[ -f "$ROOT/gateway/target/tandem-gateway.jar" ] || { echo "no packaged gateway: build first (./tandem run or ./tandem test)" >&2; exit 1; }
OUT="$(mktemp)"; trap 'rm -f "$OUT"' EXIT
(cd "$ROOT" && bash "$HARNESS/side-by-side.sh" "${1:-2}") | tee "$OUT"
node - "$OUT" <<'JS'
const lines = require('fs').readFileSync(process.argv[2], 'utf8').split('\n')
  .filter(l => l.startsWith('{')).map(l => JSON.parse(l));
const r = (a, b) => (b ? (a / b).toFixed(2) : 'n/a');
console.log('\nTandem / Socket.IO (below 1: Tandem uses less / is faster)');
console.log('case                         server µs/delivery   of it user space      p50                 p99                  lost (T, S)');
for (let i = 0; i + 1 < lines.length; i++) {
  const t = lines[i], s = lines[i + 1];
  if (t.target !== 'tandem' || s.target !== 'socketio' || t.conns !== s.conns || t.rate !== s.rate) continue;
  const name = `${t.conns} subs, ${t.msgs} at ${t.rate}/s`.padEnd(29);
  const cell = (a, b, w) => (r(a, b) + ` (${a}/${b})`).padEnd(w);
  console.log(`${name}${cell(t.server_us_per_delivery, s.server_us_per_delivery, 21)}`
    + `${cell(t.server_user_us, s.server_user_us, 22)}${cell(t.p50_ms, s.p50_ms, 20)}${cell(t.p99_ms, s.p99_ms, 21)}${t.lost}, ${s.lost}`);
  i++;
}
JS
