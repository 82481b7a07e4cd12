// The live inventory board: one tenant and location, built on @tandem/client only.
//
// Query parameters: user (default alice), tenant (default demo), location (default wh-7),
// ws (gateway WebSocket URL(s), comma-separated; default this page's host), seed=0 (do not
// create the sample SKUs when the location is empty).
//
// The gateway serves this page at /demo/ in development mode, the compiled client at
// /demo/dist/ and development tokens at /demo/token.
import { TandemClient, registerPush } from './dist/index.js';

const params = new URLSearchParams(location.search);
const user = params.get('user') || 'alice';
const tenant = params.get('tenant') || 'demo';
const locationId = params.get('location') || 'wh-7';
const wsUrls = (params.get('ws') || `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`).split(',');
const boardChannel = `doc:board:${locationId}`;
const cacheKey = `tandem-demo-board:${tenant}:${locationId}`;

const SAMPLE = [
  { sku: 'A-1', name: 'Pallet wrap, 500 mm', qty: 24, price: 18.5 },
  { sku: 'B-7', name: 'Cable ties, 200 pcs', qty: 120, price: 6.9 },
  { sku: 'C-3', name: 'Safety gloves, size L', qty: 40, price: 4.25 },
  { sku: 'D-9', name: 'Barcode labels, roll', qty: 15, price: 12 },
];

const $ = (id) => document.getElementById(id);
const el = (tag, props = {}, ...children) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

// ------------------------------------------------------------------ the client

async function getToken() {
  const q = new URLSearchParams({ user, tenant, location: locationId });
  const res = await fetch(`token?${q}`, { cache: 'no-store' });
  if (!res.ok) {
    throw new Error(`token: HTTP ${res.status} ${await res.text()}`);
  }
  const { token, expiresIn } = await res.json();
  return { token, expiresAt: Date.now() + expiresIn * 1000 };
}

const client = new TandemClient({ url: wsUrls, storageName: `demo-${tenant}-${user}`, getToken });
const docs = client.documents;

/** What the page knows, for the tests and for curious people: window.board in the console. */
const board = {
  client,
  user,
  /** Offsets of location-channel events in arrival order (after de-duplication). */
  offsets: [],
  /** Every event shown in the log. */
  events: [],
  /** Documents by SKU as shown. */
  items: new Map(),
  conflictsShown: 0,
  ready: false,
};
window.board = board;

// ------------------------------------------------------------------ header, state, offline switch

$('location').textContent = `${tenant} · ${locationId}`;
$('me').textContent = user;
const showState = (s) => {
  $('state').textContent = s;
  $('state').dataset.state = s;
};
client.on('state', showState);

// "work offline" is the user's choice, so it survives a reload (per tenant and user, in localStorage);
// the checkbox is set from it, never from the browser's form restoration
const offlineKey = `tandem-demo-offline:${tenant}:${user}`;
const offlineSwitch = $('offline');
const storedOffline = () => {
  try {
    return localStorage.getItem(offlineKey) === '1';
  } catch {
    return false;
  }
};
offlineSwitch.checked = storedOffline();
if (offlineSwitch.checked) {
  client.pause();
}
offlineSwitch.addEventListener('change', () => {
  try {
    if (offlineSwitch.checked) localStorage.setItem(offlineKey, '1');
    else localStorage.removeItem(offlineKey);
  } catch {
    // storage unavailable: the switch still works for this page
  }
  if (offlineSwitch.checked) client.pause();
  else client.resume();
});

const banner = (text) => {
  $('banner').hidden = !text;
  $('banner').textContent = text || '';
};
docs.on('storageError', (e) =>
  banner(`Your browser could not save the edit queue (${e.code}): ${e.message}. Edits are kept until you close this page.`),
);
client.on('error', (e) => {
  if (e.code === 'closed' || e.code === 'unauthorized') {
    banner(`Disconnected for good: ${e.message}`);
  }
});

// ------------------------------------------------------------------ the board

/** The board as last seen, kept in localStorage so a reload while offline still shows it. */
function loadCache() {
  try {
    return new Map(JSON.parse(localStorage.getItem(cacheKey) || '[]'));
  } catch {
    return new Map();
  }
}
function saveCache() {
  localStorage.setItem(cacheKey, JSON.stringify([...board.items]));
}

const rows = new Map(); // docId -> row elements

function docIdOf(sku) {
  return `${sku}@${locationId}`;
}

/** Pending (queued or sending) changes per document, to show them on top of the server's values. */
function pendingFor(docId) {
  const out = { inc: 0, price: undefined };
  for (const op of docs.ops()) {
    if (op.docId !== docId || (op.status !== 'queued' && op.status !== 'sending')) continue;
    const p = op.change.patch;
    if (p && p.inc && typeof p.inc.qty === 'number') out.inc += p.inc.qty;
    if (p && p.set && 'price' in p.set) out.price = p.set.price;
  }
  return out;
}

function row(doc) {
  const d = doc.data;
  let r = rows.get(doc.docId);
  if (!r) {
    const minus = el('button', { type: 'button', textContent: '−', title: 'one less' });
    const plus = el('button', { type: 'button', textContent: '+', title: 'one more' });
    const qty = el('output');
    const pending = el('span', { className: 'pending' });
    const price = el('input', { className: 'price', type: 'number', step: '0.01', min: '0' });
    const editing = el('span', { className: 'editing' });
    const ver = el('td', { className: 'ver' });
    const tr = el('tr', {}, el('td', { textContent: d.sku }), el('td', { textContent: d.name || '' }),
      el('td', { className: 'qty' }, minus, qty, plus, pending), el('td', {}, price, editing), ver);
    tr.dataset.sku = d.sku;
    tr.addEventListener('animationend', () => tr.classList.remove('flash'));
    minus.addEventListener('click', () => change(doc.docId, { patch: { inc: { qty: -1 } } }));
    plus.addEventListener('click', () => change(doc.docId, { patch: { inc: { qty: 1 } } }));
    price.addEventListener('focus', () => presence.setState({ editing: d.sku }).catch(() => {}));
    price.addEventListener('input', () => presence.typing({ sku: d.sku }));
    price.addEventListener('blur', () => {
      presence.stoppedTyping({ sku: d.sku });
      presence.setState({}).catch(() => {});
    });
    price.addEventListener('change', () => {
      const value = Number(price.value);
      if (price.value !== '' && Number.isFinite(value)) {
        change(doc.docId, { patch: { set: { price: value } } });
      }
    });
    r = { tr, qty, pending, price, editing, ver };
    rows.set(doc.docId, r);
  }
  return r;
}

function render() {
  const tbody = $('rows');
  const items = [...board.items.values()].sort((a, b) => (a.data.sku < b.data.sku ? -1 : 1));
  if (items.length === 0) {
    tbody.replaceChildren(el('tr', { className: 'empty' }, el('td', { colSpan: 5, textContent: board.ready ? 'No items here yet.' : 'Loading…' })));
    return;
  }
  const trs = [];
  for (const doc of items) {
    const r = row(doc);
    const p = pendingFor(doc.docId);
    r.qty.value = String(doc.data.qty + p.inc);
    r.pending.textContent = p.inc !== 0 ? `(${p.inc > 0 ? '+' : ''}${p.inc} queued)` : '';
    if (document.activeElement !== r.price) {
      r.price.value = String(p.price ?? doc.data.price ?? '');
    }
    r.price.classList.toggle('queued', p.price !== undefined);
    r.ver.textContent = String(doc.version);
    trs.push(r.tr);
  }
  // re-inserting rows would take the focus from a price being typed: only when the rows changed
  const same = tbody.children.length === trs.length && trs.every((tr, i) => tbody.children[i] === tr);
  if (!same) {
    tbody.replaceChildren(...trs);
  }
}

function flash(docId) {
  const r = rows.get(docId);
  if (r) {
    r.tr.classList.remove('flash');
    void r.tr.offsetWidth;
    r.tr.classList.add('flash');
  }
}

async function change(docId, edit) {
  // the version this edit is based on: the one shown (also after a reload from the cache)
  const shown = [...board.items.values()].find((d) => d.docId === docId);
  try {
    await docs.update('stock_level', docId, edit, shown ? { baseVersion: shown.version } : {});
  } catch (e) {
    banner(`Could not queue the edit: ${e.message}`);
  }
}

// "load, then follow": every stock_level of the location, then its channel from the load's position
const query = docs.liveQuery('stock_level', { locationId });
board.query = query;
query.on('reset', (all) => {
  board.items = new Map([...all.values()].map((d) => [d.docId, d]));
  saveCache();
  render();
});
query.on('change', ({ kind, doc }) => {
  if (kind === 'removed') board.items.delete(doc.docId);
  else board.items.set(doc.docId, doc);
  saveCache();
  render();
  flash(doc.docId);
});
query.on('error', (e) => banner(`The board could not load: ${e.message}`));
query.ready.then(async () => {
  board.ready = true;
  render();
  if (query.documents.size === 0 && params.get('seed') !== '0') {
    for (const s of SAMPLE) {
      await docs.update('stock_level', docIdOf(s.sku), { data: { ...s, locationId } }, { baseVersion: 0 });
    }
  }
});
board.items = loadCache();
render();

// ------------------------------------------------------------------ the event log

// One line per change: the location channel's events by offset, and this user's own edits as the
// server applied them (those replayed from the offline queue say so). An edit and the channel
// event it produced share a line (same document and version). The last MAX_EVENTS lines are kept
// in sessionStorage, so a reload of this tab shows what came before it.
const MAX_EVENTS = 40;
const eventsKey = `tandem-demo-events:${tenant}:${locationId}:${user}`;
const eventsList = $('events');
board.events = (() => {
  try {
    const stored = JSON.parse(sessionStorage.getItem(eventsKey) || '[]');
    return Array.isArray(stored) ? stored.slice(-MAX_EVENTS) : [];
  } catch {
    return [];
  }
})();

function renderEvents() {
  const items = board.events.map((e) => {
    const head = e.offset !== undefined ? `#${e.offset}` : 'you';
    const tail = e.mine ? (e.replayed ? ' · yours, from the offline queue' : ' · yours') : '';
    const li = el('li', {}, el('b', { textContent: head }), ` ${e.type} ${e.what}`, tail ? el('span', { className: 'mine', textContent: tail }) : '');
    if (e.offset !== undefined) li.dataset.offset = String(e.offset);
    if (e.mine) li.dataset.mine = e.replayed ? 'replayed' : 'live';
    return li;
  });
  eventsList.replaceChildren(...items.reverse());
}

function logEvent(entry) {
  board.events.push(entry);
  while (board.events.length > MAX_EVENTS) board.events.shift();
  try {
    sessionStorage.setItem(eventsKey, JSON.stringify(board.events));
  } catch {
    // storage unavailable: the log lasts as long as the page
  }
  renderEvents();
}

client.on('event', (e) => {
  if (e.channel !== `location:${locationId}` || !e.position) return;
  const offset = e.position.offset;
  board.offsets.push(offset);
  const d = e.data && typeof e.data === 'object' ? e.data : {};
  const key = d.docId ? `${d.docId} v${d.version}` : undefined;
  const what = key ?? JSON.stringify(d).slice(0, 40);
  // shown before this reload (offset and content: a restarted standalone node counts from 1 again)
  if (board.events.some((x) => x.offset === offset && (x.key ?? x.what) === what)) return;
  const mine = key && board.events.find((x) => x.offset === undefined && x.key === key);
  if (mine) {
    // this user's edit was shown when the server applied it: the channel event gives its offset
    board.events.splice(board.events.indexOf(mine), 1);
    logEvent({ ...mine, offset, type: e.type });
    return;
  }
  logEvent({ offset, type: e.type, what, key });
});

/** Ids of edits made while offline or loaded from the stored queue: when applied, they were replayed. */
const queuedOffline = new Set();
docs.ready.then(() => docs.ops().forEach((op) => queuedOffline.add(op.opId)));
docs.on('op', (op) => {
  if (op.status === 'queued' && client.state !== 'connected') queuedOffline.add(op.opId);
  if (!op.done || !['applied', 'merged', 'duplicate'].includes(op.status) || op.version === undefined) return;
  const replayed = queuedOffline.delete(op.opId);
  if (board.events.some((x) => x.opId === op.opId)) return;
  const key = `${op.docId} v${op.version}`;
  const fields = { mine: true, replayed, opId: op.opId, what: `${describe(op)} → ${key}` };
  const seen = board.events.find((x) => x.key === key && !x.mine);
  if (seen) {
    Object.assign(seen, fields);
    logEvent(board.events.splice(board.events.indexOf(seen), 1)[0]);
  } else {
    logEvent({ type: op.status, key, ...fields });
  }
});
renderEvents();

// ------------------------------------------------------------------ presence and typing

const presence = client.presence(boardChannel);
board.presence = presence;
const colors = ['#3259e0', '#1e8e5a', '#c07a00', '#8e44ad', '#c23934', '#16a085'];
const colorOf = (name) => colors[[...name].reduce((a, c) => a + c.charCodeAt(0), 0) % colors.length];

function renderMembers() {
  const items = presence.members().map((m) => {
    const editing = m.state && m.state.editing ? `editing ${m.state.editing}` : '';
    const li = el('li', {}, el('span', { className: 'avatar', textContent: m.user.slice(0, 1).toUpperCase() }), m.user,
      el('span', { className: 'note', textContent: (m.user === user ? ' (you) ' : ' ') + editing }));
    li.dataset.user = m.user;
    li.querySelector('.avatar').style.background = colorOf(m.user);
    return li;
  });
  $('members').replaceChildren(...items);
  for (const [docId, r] of rows) {
    const who = presence.members().filter((m) => m.user !== user && m.state && docIdOf(m.state.editing) === docId);
    r.editing.textContent = who.length ? `${who.map((m) => m.user).join(', ')} editing…` : '';
  }
}
presence.on('change', renderMembers);

const typingNow = new Map(); // user -> {sku, until}
presence.on('signal', (s) => {
  if (s.type !== 'typing' || s.from === user) return;
  if (s.data && s.data.stopped) typingNow.delete(s.from);
  else typingNow.set(s.from, { sku: s.data && s.data.sku, until: Date.now() + 3000 });
  renderTyping();
});
function renderTyping() {
  const now = Date.now();
  for (const [u, t] of typingNow) if (t.until < now) typingNow.delete(u);
  $('typing').textContent = [...typingNow].map(([u, t]) => `${u} is typing a price for ${t.sku}…`).join(' ');
}
setInterval(renderTyping, 1000);

// ------------------------------------------------------------------ the queue panel

function describe(op) {
  const p = op.change.patch;
  const sku = op.docId.split('@')[0];
  if (op.change.data) return `${sku}: create`;
  if (p && p.inc) return `${sku}: stock ${p.inc.qty > 0 ? '+' : ''}${p.inc.qty}`;
  if (p && p.set && 'price' in p.set) return `${sku}: price ${p.set.price}`;
  return `${sku}: change`;
}

const recent = new Map(); // finished ops, shown for a few seconds
function renderQueue() {
  const list = [...docs.ops(), ...recent.values()].sort((a, b) => a.seq - b.seq);
  const items = list.map((op) => {
    const li = el('li', {}, el('span', { className: 'what', textContent: describe(op) }),
      el('span', { className: 'st', textContent: op.resolution ? `resolved: ${op.resolution}` : op.status }),
      el('span', { className: 'id', textContent: op.opId + (op.durable ? '' : ' · not saved') }));
    li.dataset.status = op.status;
    li.dataset.opId = op.opId;
    if (op.status === 'rejected' || op.status === 'failed') {
      const dismiss = el('button', { type: 'button', textContent: 'dismiss' });
      dismiss.addEventListener('click', () => docs.dismiss(op.opId).then(renderQueue));
      li.append(el('span', { className: 'reason', textContent: `${op.code || ''} ${op.reason || ''}` }), dismiss);
    } else if (op.heldBy) {
      li.append(el('span', { className: 'reason', textContent: 'waits for the price conflict above' }));
    } else if (op.reason && op.status === 'queued') {
      li.append(el('span', { className: 'reason', textContent: `retrying: ${op.reason}` }));
    }
    return li;
  });
  $('queue').replaceChildren(...items);
  $('queue-count').textContent = String(docs.ops().filter((o) => o.status === 'queued' || o.status === 'sending').length);
}
docs.on('op', (op) => {
  if (op.done) {
    recent.set(op.opId, op);
    setTimeout(() => {
      recent.delete(op.opId);
      renderQueue();
    }, 4000);
  }
  renderQueue();
  render();
});
docs.ready.then(() => {
  renderQueue();
  render();
  docs.conflicts().forEach(showConflict);
});

// ------------------------------------------------------------------ the conflict dialog

// Conflicts are asked one at a time. Closing the dialog without a choice (Esc) sets the open ones
// aside: the dialog stays closed until a new conflict arrives or the user opens it again with
// the "conflicts" button in the header.
const waiting = [];
const setAside = new Map(); // conflictId -> conflict
let current;
function showConflict(c) {
  if (c.docType !== 'stock_level' || waiting.some((w) => w.conflictId === c.conflictId) || current?.conflictId === c.conflictId
    || setAside.has(c.conflictId)) return;
  waiting.push(c);
  next();
}
function renderConflictsButton() {
  const button = $('conflicts-open');
  button.hidden = setAside.size === 0 || current !== undefined;
  button.textContent = setAside.size === 1 ? '1 conflict to resolve' : `${setAside.size} conflicts to resolve`;
}
function next() {
  const dialog = $('conflict');
  if (current || waiting.length === 0) {
    renderConflictsButton();
    return;
  }
  current = waiting.shift();
  board.conflictsShown++;
  $('c-doc').textContent = current.docId.split('@')[0];
  const cell = (v, cls = '') => el('td', { className: cls, textContent: v === undefined ? '—' : String(v) });
  $('c-values').replaceChildren(el('th', { textContent: 'price' }), cell(current.base.price), cell(current.server.price),
    cell(current.local.price, 'mine'));
  $('c-merged').value = String(current.local.price ?? '');
  // Esc keeps the last returnValue: clear it, or a cancel would repeat the previous choice
  dialog.returnValue = '';
  renderConflictsButton();
  dialog.showModal();
}
$('conflict').addEventListener('close', async () => {
  const c = current;
  const choice = $('conflict').returnValue;
  if (!c) return;
  current = undefined;
  if (choice !== 'merge' && choice !== 'accept_local' && choice !== 'accept_server') {
    // closed without a choice: this one and any waiting behind it are set aside, not asked again now
    for (const x of [c, ...waiting.splice(0)]) setAside.set(x.conflictId, x);
    renderConflictsButton();
    return;
  }
  try {
    if (choice === 'merge') {
      await docs.resolve(c.conflictId, 'merge', { ...c.local, price: Number($('c-merged').value) });
    } else {
      await docs.resolve(c.conflictId, choice);
    }
  } catch (e) {
    banner(`The conflict could not be resolved (${e.code}): ${e.message}`);
  }
  next();
});
$('conflicts-open').addEventListener('click', () => {
  const known = new Set(docs.conflicts().map((c) => c.conflictId));
  for (const [id, c] of setAside) if (known.has(id)) waiting.push(c);
  setAside.clear();
  next();
});
docs.on('conflict', showConflict);
docs.on('resolved', (conflictId) => {
  setAside.delete(conflictId);
  renderConflictsButton();
});

// ------------------------------------------------------------------ go

client.connect().catch((e) => banner(`Could not connect: ${e.message}`));

// works offline after the first visit: the service worker keeps the page and the client
if ('serviceWorker' in navigator) {
  navigator.serviceWorker
    .register('sw.js')
    .then(() => navigator.serviceWorker.ready)
    .then(async () => {
      // the files of this first load did not go through the worker yet: cache them now
      const cache = await caches.open('tandem-demo');
      const urls = performance
        .getEntriesByType('resource')
        .map((r) => r.name)
        .filter((u) => new URL(u).pathname.startsWith('/demo/') && !u.includes('/demo/token'));
      await cache.addAll([location.pathname, ...new Set(urls)]);
      board.offlineReady = true;
    })
    .catch((e) => console.warn('no offline support:', e));
}

// ------------------------------------------------------------------ push notifications

// "Notify me of conflicts": this browser becomes one of the user's push devices, so a conflict on
// one of their edits reaches them while no tab is connected (the gateway pushes conflict notices
// when tandem.push.notices lists `conflict`; sw.js shows them).
const pushKey = `tandem-demo-push:${tenant}:${user}`;
function renderNotify() {
  const button = $('notify');
  const on = localStorage.getItem(pushKey) !== null;
  button.hidden = !('serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window);
  button.disabled = on;
  button.textContent = on ? 'conflict notifications on' : 'notify me of conflicts';
}
$('notify').addEventListener('click', async () => {
  try {
    if ((await Notification.requestPermission()) !== 'granted') {
      banner('Notifications are blocked for this page: allow them in the browser to be notified of conflicts.');
      return;
    }
    const registration = await navigator.serviceWorker.ready;
    const deviceId = await registerPush({ url: wsUrls[0], getToken, registration });
    localStorage.setItem(pushKey, deviceId);
    board.pushDevice = deviceId;
  } catch (e) {
    banner(`Could not turn on notifications (${e.code ?? e.name}): ${e.message}`);
  }
  renderNotify();
});
renderNotify();
