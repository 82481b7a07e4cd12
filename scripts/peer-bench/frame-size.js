// The size of one event frame as the load generator receives it: subscribes to a channel, publishes
// one payload shaped like loadgen.js's ({t, k, pad} with --payload bytes of pad) and prints the frame.
// node frame-size.js [--url http://127.0.0.1:8080] [--payload 100] [--channel tenant] [--delta] [--count 1]
// (with --delta the subscription asks for fossil deltas; --count publishes that many, one after the other)
const WebSocket = require('ws');
const http = require('http');
const crypto = require('crypto');
const args = Object.fromEntries(process.argv.slice(2).reduce((a, v, i, arr) =>
  (v.startsWith('--') ? a.concat([[v.slice(2), arr[i + 1] && !arr[i + 1].startsWith('--') ? arr[i + 1] : 'true']]) : a), []));
const base = args.url || 'http://127.0.0.1:8080';
const channel = args.channel || 'tenant';
const secret = args.secret || 'tandem-development-secret-do-not-use-in-production';
const tenant = args.tenant || 'acme';
const b64 = s => Buffer.from(JSON.stringify(s)).toString('base64url');
function token(claims) {
  const now = Math.floor(Date.now() / 1000);
  const input = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ tid: tenant, iat: now, exp: now + 600, ...claims });
  return input + '.' + crypto.createHmac('sha256', secret).update(input).digest('base64url');
}
const now = () => Number(process.hrtime.bigint()) / 1e6;
const ws = new WebSocket(base.replace('http', 'ws') + '/ws', 'tandem.v1', { headers: { authorization: 'Bearer ' + token({ sub: 'u0' }) } });
ws.on('error', e => { console.error(String(e)); process.exit(1); });
ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', id: 1, channel, ...(args.delta ? { delta: 'fossil' } : {}) })));
ws.on('message', raw => {
  const m = JSON.parse(raw);
  if (m.op === 'reply' && m.id === 1) {
    publish();
  } else if (m.op === 'event') {
    console.log(JSON.stringify({ bytes: Buffer.byteLength(raw), frame: String(raw) }));
    if (++seen >= count) process.exit(0);
    publish();
  }
});
let seen = 0;
const count = +(args.count || 1);
function publish() {
    const body = JSON.stringify({ channel, type: 'bench.tick', data: { t: now(), k: 0, pad: 'x'.repeat(+(args.payload || 100)) } });
    const u = new URL(base + '/api/v1/publish');
    http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer ' + token({ sub: 'bench', roles: ['service'] }) } },
    res => res.resume()).end(body);
}
