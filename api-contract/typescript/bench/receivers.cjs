// Subscribed receivers for the Kafka-to-client benchmark (./tandem bench-kafka, KafkaLatencyBenchmark):
//   node receivers.cjs N URLS TOKEN CHANNEL EXPECTED OUT_FILE DEADLINE_S
// connects N `ws` sockets, round robin over the comma-separated ws:// URLS, subscribes each to CHANNEL,
// prints "ready N" once all are subscribed, then for every event of type bench.tick takes
// process.hrtime.bigint() minus the event's data.t: the producer's System.nanoTime(), the same
// monotonic clock (CLOCK_MONOTONIC) on this machine. When each socket has EXPECTED such events, or
// DEADLINE_S seconds after "ready", it writes the latencies (nanoseconds, one per line) to OUT_FILE,
// prints "done COUNT" and exits. Node's ws clients cost far less CPU per message than the JDK's, so
// on a small machine the clients do not take the cores the gateways need.
const WebSocket = require('ws');
const fs = require('fs');
const [n, urls, token, channel, expected, out, deadlineS] = process.argv.slice(2);
const count = +n, perSocket = +expected, targets = urls.split(',');
const latencies = [];
let complete = 0, finished = false;

function finish() {
  if (finished) return;
  finished = true;
  fs.writeFileSync(out, latencies.join('\n') + '\n');
  console.log('done', latencies.length);
  process.exit(0);
}

function open(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(targets[i % targets.length], 'tandem.v1', { headers: { authorization: 'Bearer ' + token } });
    let got = 0;
    ws.on('message', (raw) => {
      const now = process.hrtime.bigint();
      const s = raw.toString();
      if (s.startsWith('{"op":"event"')) {
        const m = JSON.parse(s);
        if (m.type !== 'bench.tick') return;
        latencies.push(Number(now - BigInt(m.data.t)));
        if (++got === perSocket && ++complete === count) finish();
      } else if (s.startsWith('{"op":"reply"')) {
        resolve();
      } else if (s.startsWith('{"op":"error"') || s.startsWith('{"op":"disconnect"')) {
        reject(new Error(s.slice(0, 200)));
      }
    });
    ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', id: 1, channel })));
    ws.on('error', reject);
  });
}

(async () => {
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, j) => open(i + j)));
  }
  console.log('ready', count);
  setTimeout(finish, +deadlineS * 1000);
})().catch((e) => { console.error('receivers failed:', e.message); process.exit(1); });
