// Idle-connection scale benchmark (see scripts/bench-connections.sh): one process of N subscribed
// sockets, or a publisher of broadcasts carrying the wall clock.
// clients mode: node connections.cjs clients N PORT TAG   (reports per broadcast the latest arrival on SIGTERM)
// pub mode:     node connections.cjs pub PORT COUNT       (COUNT broadcasts 1.5 s apart)
const WebSocket = require('ws'); const crypto = require('crypto'); const http = require('http');
const S = 'tandem-development-secret-do-not-use-in-production';
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function token(u, roles) { const h = b64({alg:'HS256',typ:'JWT',kid:'tandem-hs256'}); const p = b64({sub:u,tid:'acme',roles,exp:Math.floor(Date.now()/1000)+3600,iat:Math.floor(Date.now()/1000)}); return h+'.'+p+'.'+crypto.createHmac('sha256', S).update(h+'.'+p).digest('base64url'); }
const wall = () => performance.timeOrigin + performance.now();
const mode = process.argv[2];
if (mode === 'pub') {
  const port = +process.argv[3], count = +process.argv[4];
  (async () => { for (let k = 0; k < count; k++) {
    const body = JSON.stringify({ channel: 'tenant', type: 'b', data: { k, t: wall() } });
    await new Promise((res) => { const rq = http.request({ port, path: '/api/v1/publish', method: 'POST', headers: { authorization: 'Bearer ' + token('svc', ['service']), 'content-type': 'application/json' } }, (r) => { r.resume(); r.on('end', res); }); rq.end(body); });
    await new Promise(r => setTimeout(r, 1500)); } })();
} else {
  const n = +process.argv[3], port = +process.argv[4], tag = process.argv[5];
  const per = new Map();
  (async () => {
    for (let i = 0; i < n; i += 250) {
      await Promise.all(Array.from({length: Math.min(250, n - i)}, (_, j) => new Promise((res, rej) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, 'tandem.v1', { headers: { authorization: 'Bearer ' + token(tag + (i + j), []) } });
        ws.on('message', (raw) => { const s = raw.toString(); if (s.includes('"op":"event"')) { const at = wall(); const m = JSON.parse(s); const e = per.get(m.data.k) || { n: 0, max: 0 }; e.n++; e.max = Math.max(e.max, at - m.data.t); per.set(m.data.k, e); } else { const m = JSON.parse(s); if (m.op === 'reply' && m.id === 1) res(); } });
        ws.on('open', () => ws.send(JSON.stringify({ op: 'subscribe', id: 1, channel: 'tenant' })));
        ws.on('error', rej);
      })));
    }
    console.log('ready', tag, n);
    process.on('SIGTERM', () => { for (const [k, e] of per) console.log(`${tag} broadcast ${k}: ${e.n} in ${e.max.toFixed(1)} ms`); process.exit(0); });
  })();
}
