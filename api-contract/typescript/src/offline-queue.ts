/**
 * The offline operation queue behind {@link Documents}: operations stored before they are sent,
 * sent in order as `sync` batches, their statuses, and the manual conflicts that hold them (see
 * {@link Documents} for what it guarantees).
 */
import { Backoff } from './backoff.js';
import { EditChain } from './chain.js';
import type { TandemClient } from './client.js';
import type { DocumentEvents } from './documents.js';
import type { Emitter } from './emitter.js';
import { TandemError, unavailable } from './errors.js';
import { toConflict, toDoc, type ConflictRecord, type Doc } from './doc.js';
import { isJsonObject, type ConflictFrame, type JsonObject, type Resolution } from './protocol.js';
import type { DocumentReads } from './reads.js';
import { checkChange, newOp, nextBatch, resultsByOpId, viewOf, type Entry, type OpView } from './op-queue.js';
import { MemoryStorage, newClientId, type DocChange, type QueueStorage, type StoredConflict, type StoredOp } from './storage.js';

const PENDING: ReadonlySet<string> = new Set(['queued', 'sending']);
const MAX_INTERNAL_ATTEMPTS = 5;

/** The queue of one {@link Documents}; its public methods are the ones Documents offers. */
export class OfflineQueue {
  /** Resolves once the queue was read from storage. */
  readonly ready: Promise<void>;

  private storage: QueueStorage;
  private readonly chain = new EditChain();
  private clientId = '';
  private volatileId: string | undefined;
  private volatileSeq = 0;
  private readonly entries = new Map<number, Entry>();
  private readonly conflictMap = new Map<string, ConflictRecord>();
  private readonly waiters = new Map<string, Array<(op: OpView) => void>>();
  private sending = false;
  private isolateThrough = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retries = 0;
  private readonly retryBackoff = new Backoff({ initialMs: 500, maxMs: 30_000 });
  private closed = false;

  constructor(
    private readonly client: TandemClient,
    storage: QueueStorage,
    private readonly emitter: Emitter<DocumentEvents>,
    private readonly reads: DocumentReads,
  ) {
    this.storage = storage;
    this.ready = this.load();
  }

  /** The client is connected: held edits are asked about again (their conflict may have been resolved elsewhere), what waits is sent. */
  connected(): void {
    this.restate(this.chain.release(this.inOrder()));
    this.pump();
  }

  /** See {@link Documents.update}. */
  async update(docType: string, docId: string, change: DocChange, options: { baseVersion?: number } = {}): Promise<OpView> {
    if (typeof docType !== 'string' || docType === '' || typeof docId !== 'string' || docId === '') {
      throw new TypeError('docType and docId must be non-empty strings');
    }
    checkChange(change);
    if (this.closed) {
      throw new TandemError('closed', 'the client is closed');
    }
    await this.ready;
    const base = options.baseVersion ?? this.reads.version(docType, docId) ?? 0;
    if (!Number.isSafeInteger(base) || base < 0) {
      throw new TypeError('baseVersion must be a non-negative integer');
    }
    const now = this.client.now();
    const w = this.client.welcome;
    const after = this.chain.predecessor(this.inOrder(), docType, docId);
    const op = newOp(docType, docId, base, change, now, after, w === undefined ? undefined : `${w.tenant}/${w.user}`);
    let entry: Entry;
    try {
      entry = { op: await this.storage.append(op), durable: true };
    } catch (e) {
      this.storageFailed(e);
      // kept in memory under a client id of its own: the storage's sequence was not advanced,
      // and reusing it later would make the server take a different operation for a duplicate
      this.volatileId ??= `${this.clientId}.${newClientId().slice(0, 8)}`;
      const seq = ++this.volatileSeq;
      entry = { op: { ...op, opId: `${this.volatileId}:${seq}`, seq: Number.MAX_SAFE_INTEGER / 2 + seq }, durable: false };
    }
    this.entries.set(entry.op.seq, entry);
    const view = viewOf(entry);
    this.emitter.emit('op', view);
    this.pump();
    return view;
  }

  /** See {@link Documents.settled}. */
  settled(opId: string): Promise<OpView> {
    const e = this.find(opId);
    if (e === undefined) {
      return Promise.reject(new TandemError('not_found', `no operation ${opId} in the queue`, { transient: false }));
    }
    if (!PENDING.has(e.op.status)) {
      return Promise.resolve(viewOf(e));
    }
    return new Promise((resolve) => {
      const list = this.waiters.get(opId) ?? [];
      list.push(resolve);
      this.waiters.set(opId, list);
    });
  }

  /** See {@link Documents.ops}. */
  ops(): OpView[] {
    return [...this.entries.values()].sort((a, b) => a.op.seq - b.op.seq).map((e) => viewOf(e));
  }

  /** See {@link Documents.conflicts}. */
  conflicts(): ConflictRecord[] {
    return [...this.conflictMap.values()];
  }

  /** See {@link Documents.dismiss}. */
  async dismiss(opId: string): Promise<void> {
    const e = this.find(opId);
    if (e === undefined) {
      return;
    }
    if (PENDING.has(e.op.status) && e.op.heldBy === undefined) {
      throw new TandemError('bad_request', `operation ${opId} is still ${e.op.status}`, { transient: false });
    }
    await this.drop(e);
    this.restate(this.chain.unlink(this.inOrder(), e.op));
    this.pump();
  }

  /** See {@link Documents.retry}. */
  retry(opId: string): void {
    const e = this.find(opId);
    if (e === undefined || e.op.status !== 'failed') {
      throw new TandemError('bad_request', `only failed operations can be retried`, { transient: false });
    }
    e.op.attempts = 0;
    this.setStatus(e, 'queued', {});
    this.pump();
  }

  /** See {@link Documents.resolve}. */
  async resolve(conflictId: string, resolution: Resolution, data?: JsonObject): Promise<Doc> {
    if (resolution !== 'accept_local' && resolution !== 'accept_server' && resolution !== 'merge') {
      throw new TypeError('resolution is accept_local, accept_server or merge');
    }
    if (resolution === 'merge' && !isJsonObject(data)) {
      throw new TypeError('a merge resolution needs the merged data (an object)');
    }
    let body: JsonObject;
    try {
      body = await this.client.request({
        op: 'conflict.resolve',
        conflictId,
        resolution,
        ...(resolution === 'merge' && data !== undefined ? { data } : {}),
      });
    } catch (e) {
      if (e instanceof TandemError && (e.code === 'conflict' || e.code === 'not_found')) {
        await this.conflictDone(conflictId, undefined, null);
      }
      throw e;
    }
    const doc = toDoc(body['document']);
    if (doc === undefined) {
      throw new TandemError('protocol', 'conflict.resolve reply without a document', { transient: false });
    }
    this.reads.saw(doc.docType, doc.docId, doc.version);
    await this.conflictDone(conflictId, resolution, doc);
    return doc;
  }

  /** See {@link Documents.flush}. */
  flush(): void {
    this.clearRetry();
    this.pump();
  }

  /** See {@link Documents.close}. */
  close(): void {
    this.closed = true;
    this.clearRetry();
    this.storage.close();
  }

  // ------------------------------------------------------------------ the queue

  private async load(): Promise<void> {
    let state;
    try {
      state = await this.storage.load();
    } catch (e) {
      this.storageFailed(e);
      this.storage = new MemoryStorage();
      state = await this.storage.load();
    }
    this.clientId = state.clientId;
    for (const op of state.ops) {
      // an operation that was being sent when the page went away is sent again (the server
      // answers duplicate if it had arrived)
      if (op.status === 'sending') {
        op.status = 'queued';
      }
      this.entries.set(op.seq, { op, durable: true });
    }
    for (const c of state.conflicts) {
      const record = toConflict(c.record);
      if (record !== undefined) {
        this.conflictMap.set(record.conflictId, record);
      }
    }
    this.pump();
  }

  /** Sends the next batch if connected and nothing is in flight. */
  private pump(): void {
    if (this.sending || this.closed || this.retryTimer !== undefined || !this.client.isReady || this.clientId === '') {
      return;
    }
    const welcome = this.client.welcome;
    const limits = this.client.limits;
    if (welcome === undefined || limits === undefined) {
      return;
    }
    this.restate(this.chain.holdFollowers(this.inOrder()));
    const { batch, bodies } = nextBatch(
      [...this.entries.values()].sort((a, b) => a.op.seq - b.op.seq),
      `${welcome.tenant}/${welcome.user}`,
      limits,
      this.isolateThrough,
      (e, code, reason) => this.setStatus(e, 'failed', { code, reason }),
    );
    if (batch.length === 0) {
      return;
    }
    this.sending = true;
    for (const e of batch) {
      e.op.attempts++;
      this.setStatus(e, 'sending', {}, false);
    }
    const timeout = 30_000 + batch.length * 200;
    // the answer is for what is still queued (answered checks each operation in turn): one
    // whose conflict was resolved or went stale while the batch was in flight has left the queue
    // and must not come back with it; a failure puts back only what is still sending (one the
    // inbox meanwhile reported in conflict stays so)
    const stillSending = (): Entry[] =>
      batch.filter((e) => this.entries.get(e.op.seq) === e && e.op.status === 'sending');
    this.client
      .request({ op: 'sync', ops: bodies }, timeout)
      .then(
        (body) => this.answered(batch, body),
        (err: unknown) => this.refused(stillSending(), err instanceof TandemError ? err : unavailable(String(err))),
      )
      .catch((e: unknown) => this.client.log.error('handling a sync result failed', e))
      .finally(() => {
        this.sending = false;
        this.pump();
      });
  }

  private async answered(batch: Entry[], body: JsonObject): Promise<void> {
    this.retries = 0;
    const byOpId = resultsByOpId(body);
    for (const e of batch) {
      if (this.entries.get(e.op.seq) !== e) {
        continue; // left the queue while the batch was in flight, or while a result was stored
      }
      const r = byOpId.get(e.op.opId);
      if (r === undefined) {
        this.setStatus(e, 'queued', { reason: 'no result for this operation in the reply' });
        continue;
      }
      await this.result(e, r);
    }
  }

  private async result(e: Entry, r: JsonObject): Promise<void> {
    const version = typeof r['version'] === 'number' ? r['version'] : undefined;
    if (version !== undefined) {
      this.reads.saw(e.op.docType, e.op.docId, version);
    }
    switch (r['result']) {
      case 'applied':
      case 'duplicate':
        await this.finish(e, r['result'], version === undefined ? {} : { version });
        return;
      case 'merged': {
        const fields = Array.isArray(r['fields']) ? r['fields'].filter((f): f is string => typeof f === 'string') : [];
        const strategy = typeof r['strategy'] === 'string' ? r['strategy'] : undefined;
        await this.finish(e, 'merged', {
          ...(version === undefined ? {} : { version }),
          fields,
          ...(strategy === undefined ? {} : { strategy }),
        });
        return;
      }
      case 'conflict': {
        const record = toConflict(r['conflict']) ?? toConflict({ conflictId: r['conflictId'] ?? '', opId: e.op.opId });
        const conflictId = typeof r['conflictId'] === 'string' ? r['conflictId'] : record?.conflictId;
        this.setStatus(e, 'conflict', conflictId === undefined ? {} : { conflictId });
        if (record !== undefined && record.conflictId !== '') {
          await this.keepConflict(record);
        }
        return;
      }
      case 'held': {
        // its predecessor waits in a conflict: sent again once that one is resolved
        const conflict = typeof r['conflictId'] === 'string' ? r['conflictId'] : '';
        this.setStatus(e, 'queued', this.chain.holds(conflict) ? { heldBy: conflict } : {});
        return;
      }
      case 'rejected':
        this.setStatus(e, 'rejected', {
          code: typeof r['code'] === 'string' ? r['code'] : 'rejected',
          reason: typeof r['reason'] === 'string' ? r['reason'] : 'rejected by the server',
        });
        return;
      default:
        this.setStatus(e, 'failed', { code: 'protocol', reason: `unknown result ${JSON.stringify(r['result'])}` });
    }
  }

  private refused(batch: Entry[], err: TandemError): void {
    const internalTooOften = err.code === 'internal' && batch.every((e) => e.op.attempts >= MAX_INTERNAL_ATTEMPTS);
    if (err.transient && !internalTooOften) {
      for (const e of batch) {
        this.setStatus(e, 'queued', { reason: `${err.code}: ${err.message}` });
      }
      if (this.client.isReady) {
        // the server is busy or failing: wait before the next batch (a lost connection is
        // retried on the next welcome instead)
        const delay = this.retryBackoff.delay(++this.retries) ?? 30_000;
        this.retryTimer = setTimeout(() => {
          this.retryTimer = undefined;
          this.pump();
        }, delay);
      }
      return;
    }
    if (batch.length > 1) {
      // refused as a whole: find the operation that did it by sending one at a time
      const last = batch[batch.length - 1] as Entry;
      this.isolateThrough = Math.max(this.isolateThrough, last.op.seq);
      for (const e of batch) {
        this.setStatus(e, 'queued', { reason: `batch refused (${err.code}): ${err.message}` });
      }
      return;
    }
    for (const e of batch) {
      this.setStatus(e, 'failed', { code: err.code, reason: err.message });
    }
  }

  private async finish(e: Entry, status: 'applied' | 'merged' | 'duplicate', extra: Partial<StoredOp>): Promise<void> {
    Object.assign(e.op, extra, { status, updatedAt: this.client.now() });
    delete e.op.reason;
    await this.drop(e);
  }

  /** Removes an entry from the queue and its storage; tells listeners it is done. */
  private async drop(e: Entry): Promise<void> {
    this.entries.delete(e.op.seq);
    if (e.durable) {
      try {
        await this.storage.remove(e.op.seq);
      } catch (err) {
        this.storageFailed(err);
      }
    }
    const view = { ...viewOf(e), done: true };
    this.emitter.emit('op', view);
    this.wake(view);
  }

  private setStatus(e: Entry, status: StoredOp['status'], extra: Partial<StoredOp>, persist = true): void {
    const { code, reason } = e.op;
    Object.assign(e.op, extra, { status, updatedAt: this.client.now() });
    if (!('code' in extra) && status !== 'failed' && status !== 'rejected' && code !== undefined) {
      delete e.op.code;
    }
    if (!('reason' in extra) && reason !== undefined && status !== 'sending') {
      delete e.op.reason;
    }
    if (persist && e.durable) {
      this.storage.put(e.op).catch((err: unknown) => this.storageFailed(err));
    }
    const view = viewOf(e);
    this.emitter.emit('op', view);
    if (!PENDING.has(status)) {
      this.wake(view);
    }
  }

  private wake(view: OpView): void {
    const list = this.waiters.get(view.opId);
    if (list !== undefined) {
      this.waiters.delete(view.opId);
      list.forEach((w) => w(view));
    }
  }

  private find(opId: string): Entry | undefined {
    for (const e of this.entries.values()) {
      if (e.op.opId === opId) {
        return e;
      }
    }
    return undefined;
  }

  private clearRetry(): void {
    if (this.retryTimer !== undefined) {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
    }
  }

  private storageFailed(e: unknown): void {
    const err = e instanceof TandemError ? e : new TandemError('storage', String(e), { transient: false, cause: e });
    this.client.log.warn(`queue storage: ${err.message}`);
    this.emitter.emit('storageError', err);
  }

  // ------------------------------------------------------------------ conflicts

  /** A conflict frame from the inbox. */
  async conflictFrame(f: ConflictFrame): Promise<void> {
    const record = toConflict({ ...f.data, conflictId: f.conflictId });
    if (record === undefined) {
      return;
    }
    if (record.status !== 'open') {
      await this.conflictDone(record.conflictId, undefined, null);
      return;
    }
    for (const e of this.entries.values()) {
      if (e.op.opId === record.opId && e.op.status !== 'conflict') {
        this.setStatus(e, 'conflict', { conflictId: record.conflictId });
      }
    }
    await this.keepConflict(record);
  }

  private async keepConflict(record: ConflictRecord): Promise<void> {
    if (this.conflictMap.has(record.conflictId)) {
      return;
    }
    this.conflictMap.set(record.conflictId, record);
    const stored: StoredConflict = { conflictId: record.conflictId, record: record.raw, receivedAt: this.client.now() };
    try {
      await this.storage.putConflict(stored);
    } catch (e) {
      this.storageFailed(e);
    }
    this.emitter.emit('conflict', record);
  }

  private async conflictDone(conflictId: string, resolution: Resolution | undefined, doc: Doc | null): Promise<void> {
    const known = this.conflictMap.delete(conflictId);
    try {
      await this.storage.removeConflict(conflictId);
    } catch (e) {
      this.storageFailed(e);
    }
    for (const e of [...this.entries.values()]) {
      if (e.op.conflictId === conflictId) {
        if (resolution !== undefined) {
          e.resolution = resolution;
        }
        if (doc !== null) {
          e.op.version = doc.version;
        }
        await this.drop(e);
      }
    }
    if (known || doc !== null) {
      this.emitter.emit('resolved', conflictId, doc);
    }
    this.restate(this.chain.ended(this.inOrder(), conflictId));
    this.pump();
  }

  /** The queue's operations in `seq` order. */
  private inOrder(): StoredOp[] {
    return [...this.entries.values()].sort((a, b) => a.op.seq - b.op.seq).map((e) => e.op);
  }

  /** Stores and announces operations whose chain state changed. */
  private restate(changed: StoredOp[]): void {
    for (const op of changed) {
      const e = this.entries.get(op.seq);
      if (e !== undefined) {
        op.updatedAt = this.client.now();
        if (e.durable) {
          this.storage.put(op).catch((err: unknown) => this.storageFailed(err));
        }
        this.emitter.emit('op', viewOf(e));
      }
    }
  }
}
