/**
 * The offline queue's entries: how the app sees an operation, which queued operations go out in
 * the next `sync` batch within the server's frame limit, and the checks on a change before it is
 * queued. {@link OfflineQueue} keeps the queue and talks to the server.
 */
import type { OfflineQueue } from './offline-queue.js';
import type { DocChange, NewOp, StoredOp } from './storage.js';
import { isJsonObject, type DocOpBody, type Json, type JsonObject, type Limits, type Resolution } from './protocol.js';

/** An operation of the queue as the app sees it. */
export interface OpView extends Readonly<Omit<StoredOp, 'change'>> {
  readonly change: DocChange;
  /** Whether it is persisted (false when the storage failed: a reload would lose it). */
  readonly durable: boolean;
  /** Whether it left the queue (finished, resolved or dismissed). */
  readonly done: boolean;
  /** How its conflict was resolved, once it was. */
  readonly resolution?: Resolution;
}

/** An operation of the queue with what only this page knows about it. */
export interface Entry {
  op: StoredOp;
  durable: boolean;
  resolution?: Resolution;
}

const MAX_BATCH = 100;

/** An entry as the app sees it (a copy). */
export function viewOf(e: Entry): OpView {
  return {
    ...structuredClone(e.op),
    durable: e.durable,
    done: false,
    ...(e.resolution === undefined ? {} : { resolution: e.resolution }),
  };
}

/** The UTF-8 size of a string, without encoding it. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? (i++, 4) : 3;
  }
  return n;
}

/** Checks a change's shape before it is queued (throws a TypeError). */
export function checkChange(change: DocChange): void {
  if (!isJsonObject(change as unknown as Json)) {
    throw new TypeError('a change is {data} or {patch}');
  }
  const hasData = 'data' in change;
  const hasPatch = 'patch' in change;
  if (hasData === hasPatch) {
    throw new TypeError('a change has exactly one of data or patch');
  }
  if (hasData) {
    if (!isJsonObject(change.data)) {
      throw new TypeError('data must be a JSON object');
    }
    return;
  }
  const p = change.patch as Json;
  if (!isJsonObject(p)) {
    throw new TypeError('patch must be an object');
  }
  if ('delete' in p) {
    if (p['delete'] !== true || Object.keys(p).length !== 1) {
      throw new TypeError('a delete patch is exactly {delete: true}');
    }
    return;
  }
  for (const k of Object.keys(p)) {
    if (k !== 'set' && k !== 'unset' && k !== 'inc') {
      throw new TypeError(`unknown patch part '${k}' (set, unset, inc)`);
    }
  }
  if (p['set'] !== undefined && !isJsonObject(p['set'])) {
    throw new TypeError('patch.set must be an object');
  }
  if (p['unset'] !== undefined && !(Array.isArray(p['unset']) && p['unset'].every((f) => typeof f === 'string'))) {
    throw new TypeError('patch.unset must be a list of field names');
  }
  const inc = p['inc'];
  if (inc !== undefined && !(isJsonObject(inc) && Object.values(inc).every((d) => typeof d === 'number' && Number.isFinite(d)))) {
    throw new TypeError('patch.inc must map fields to finite numbers');
  }
}

/**
 * The next `sync` batch from the queue's entries in `seq` order: queued, not held, owned by
 * `owner` (an operation queued by another user fails with `forbidden`, one larger than a frame
 * with `too_large`, through `fail`), at most 100 operations within the frame limit; one at a
 * time through `isolateThrough` (finding the operation that made a whole batch fail).
 */
export function nextBatch(
  entries: readonly Entry[],
  owner: string,
  limits: Limits,
  isolateThrough: number,
  fail: (e: Entry, code: string, reason: string) => void,
): { batch: Entry[]; bodies: DocOpBody[] } {
  const maxBytes = limits.maxFrameBytes > 0 ? limits.maxFrameBytes - 256 : 65_000;
  const batch: Entry[] = [];
  const bodies: DocOpBody[] = [];
  let bytes = 40;
  for (const e of entries) {
    if (e.op.status !== 'queued' || e.op.heldBy !== undefined) {
      continue;
    }
    if (e.op.owner === undefined) {
      e.op.owner = owner;
    } else if (e.op.owner !== owner) {
      fail(e, 'forbidden', `queued by ${e.op.owner}, not by ${owner}`);
      continue;
    }
    const { docType, docId, baseVersion, opId, afterOpId } = e.op;
    const body: DocOpBody = { docType, docId, baseVersion, opId, ...(afterOpId === undefined ? {} : { afterOpId }), ...e.op.change };
    const size = utf8Length(JSON.stringify(body)) + 1;
    if (size + 40 > maxBytes) {
      fail(e, 'too_large', `the operation is ${size} bytes; the server takes frames up to ${limits.maxFrameBytes}`);
      continue;
    }
    if (bytes + size > maxBytes || batch.length >= MAX_BATCH) {
      break;
    }
    batch.push(e);
    bodies.push(body);
    bytes += size;
    if (e.op.seq <= isolateThrough) {
      break; // one at a time
    }
  }
  return { batch, bodies };
}

/** A new queued operation (its opId and seq come from the storage). */
export function newOp(
  docType: string,
  docId: string,
  baseVersion: number,
  change: DocChange,
  now: number,
  afterOpId: string | undefined,
  owner: string | undefined,
): NewOp {
  return {
    docType,
    docId,
    baseVersion,
    change: structuredClone(change),
    status: 'queued',
    attempts: 0,
    createdAt: now,
    updatedAt: now,
    ...(afterOpId === undefined ? {} : { afterOpId }),
    ...(owner === undefined ? {} : { owner }),
  };
}

/** A `sync` reply's results by opId. */
export function resultsByOpId(body: JsonObject): Map<string, JsonObject> {
  const byOpId = new Map<string, JsonObject>();
  for (const r of Array.isArray(body['results']) ? body['results'] : []) {
    if (isJsonObject(r) && typeof r['opId'] === 'string') {
      byOpId.set(r['opId'], r);
    }
  }
  return byOpId;
}
