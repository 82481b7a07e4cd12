import { Backoff } from './backoff.js';
import { EditChain } from './chain.js';
import type { TandemClient } from './client.js';
import type { TandemEvent } from './subscriptions.js';
import { Emitter, type Unsubscribe } from './emitter.js';
import { TandemError, unavailable } from './errors.js';
import { toConflict, toDoc, type ConflictRecord, type Doc } from './doc.js';
import { LiveDocument, LiveQuery, type LiveQueryOptions } from './live.js';
import { isJsonObject, type ConflictFrame, type Json, type JsonObject, type Resolution } from './protocol.js';
import { DocumentReads, type QueryPage } from './reads.js';
import { checkChange, newOp, nextBatch, resultsByOpId, viewOf, type Entry, type OpView } from './op-queue.js';
import { MemoryStorage, newClientId, type DocChange, type QueueStorage, type StoredConflict, type StoredOp } from './storage.js';


/** Events of {@link Documents}. */
export interface DocumentEvents {
  /** An operation changed status (or left the queue: `done`). */
  op: (op: OpView) => void;
  /** A manual conflict arrived (from a reply or the inbox), once per conflict. */
  conflict: (conflict: ConflictRecord) => void;
  /** A conflict was resolved (by this client) or found already resolved or stale. */
  resolved: (conflictId: string, document: Doc | null) => void;
  /** The queue storage failed (full, unavailable): the operation is kept in memory only. */
  storageError: (error: TandemError) => void;
  /** Your last-write-wins value was overwritten by someone else (`doc.overwritten` on your inbox). */
  overwritten: (data: Json) => void;
}

const PENDING: ReadonlySet<string> = new Set(['queued', 'sending']);
const MAX_INTERNAL_ATTEMPTS = 5;

/**
 * Documents for one client: `get`, `update`, live documents and queries, and the **offline
 * operation queue**.
 *
 * Every {@link update} is an operation with an opId `{clientId}:{seq}` (client id and sequence
 * persisted in the {@link QueueStorage}), stored before it is sent, and sent in order as `sync`
 * batches (at most 100 operations, within the server's frame limit) whenever the client is
 * connected; one batch is in flight at a time. Transient failures (connection loss,
 * `unavailable`, `rate_limited`, timeouts) put the batch back and retry with backoff; the server
 * remembers opIds, so a batch sent twice changes nothing the second time (`duplicate`). A batch
 * refused as a whole is retried one operation at a time, so one bad operation fails alone. A
 * server error never drops an operation: it ends `applied`, `merged` or `duplicate` (then leaves
 * the queue), `conflict` (until resolved or dismissed), `rejected` or `failed` (until dismissed).
 * An edit queued after an unsettled edit of the same document follows it (see `chain.ts`):
 * applied on top of it, and held back (`heldBy`) while that one waits in a conflict.
 */
export class Documents {
  /** Resolves once the queue was read from storage. */
  readonly ready: Promise<void>;

  private readonly emitter: Emitter<DocumentEvents>;
  private storage: QueueStorage;
  private readonly reads: DocumentReads;
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
  private readonly offs: Unsubscribe[] = [];
  private closed = false;

  constructor(
    private readonly client: TandemClient,
    storage: QueueStorage,
  ) {
    this.emitter = new Emitter<DocumentEvents>(client.log);
    this.storage = storage;
    this.reads = new DocumentReads(client);
    this.ready = this.load();
    this.offs.push(
      client.onReady(() => {
        // held edits are asked about again: their conflict may have been resolved elsewhere
        this.restate(this.chain.release(this.inOrder()));
        this.pump();
      }),
      client.onConflictFrame((f) => this.conflictFrame(f)),
      client.on('event', (e) => this.observe(e)),
    );
  }

  /** Listens to a documents event; returns the remover. */
  on<K extends keyof DocumentEvents>(event: K, listener: DocumentEvents[K]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  // ------------------------------------------------------------------ reading

  /** Reads a document; null when it does not exist. Needs a connection. */
  get<T extends JsonObject = JsonObject>(docType: string, docId: string): Promise<Doc<T> | null> {
    return this.reads.get<T>(docType, docId);
  }

  /**
   * Reads one page of the documents of a type whose fields equal `where` (e.g.
   * `{locationId: 'wh-7'}`), with the position of the channel they publish to. Needs a connection.
   */
  query<T extends JsonObject = JsonObject>(docType: string, where: JsonObject, page: { limit?: number; after?: string } = {}): Promise<QueryPage<T>> {
    return this.reads.query<T>(docType, where, page);
  }

  /** A document kept current: loaded with its channel's position (`snapshot`), then followed. */
  watch<T extends JsonObject = JsonObject>(docType: string, docId: string): LiveDocument<T> {
    return new LiveDocument<T>(this.client, this, docType, docId);
  }

  /**
   * The documents of a type matching `where`, kept current ("load, then follow"): every page
   * is loaded, then the channel they publish to is followed from the first page's position;
   * changes at or below a version already held are dropped.
   */
  liveQuery<T extends JsonObject = JsonObject>(docType: string, where: JsonObject, options: LiveQueryOptions = {}): LiveQuery<T> {
    return new LiveQuery<T>(this.client, this, docType, where, options);
  }

  /** The newest version of a document this client has seen, if any. */
  version(docType: string, docId: string): number | undefined {
    return this.reads.version(docType, docId);
  }

  /** @internal Records a version seen (reply, snapshot, event). */
  saw(docType: string, docId: string, version: number): void {
    this.reads.saw(docType, docId, version);
  }

  // ------------------------------------------------------------------ writing

  /**
   * Queues a change and resolves once it is stored (status `queued`; sent at once when
   * connected). `baseVersion` defaults to the newest version this client has seen of the
   * document (0, "create", when none). Rejects only for an invalid change; a storage failure is
   * reported (`storageError`) and the operation kept in memory (`durable: false`).
   */
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

  /** Resolves once the operation is no longer queued or sending (any other status). */
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

  /** The operations in the queue (pending, or waiting for attention), in order. */
  ops(): OpView[] {
    return [...this.entries.values()].sort((a, b) => a.op.seq - b.op.seq).map((e) => viewOf(e));
  }

  /** Open conflicts known to this client. */
  conflicts(): ConflictRecord[] {
    return [...this.conflictMap.values()];
  }

  /**
   * Removes a `rejected`, `failed` or `conflict` operation, or one held by a conflict (`heldBy`),
   * from the queue (the app has shown it, or gave it up). The edits that followed it follow its
   * predecessor instead.
   */
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

  /** Queues a `failed` operation again (e.g. after the app fixed what made the server refuse the batch). */
  retry(opId: string): void {
    const e = this.find(opId);
    if (e === undefined || e.op.status !== 'failed') {
      throw new TandemError('bad_request', `only failed operations can be retried`, { transient: false });
    }
    e.op.attempts = 0;
    this.setStatus(e, 'queued', {});
    this.pump();
  }

  /**
   * Resolves a manual conflict: `accept_local` (your change), `accept_server` (your change
   * with the conflicted fields from the server) or `merge` with the merged `data`. Needs a
   * connection. Resolves with the new version of the document. A conflict that was already
   * resolved or went stale (the document moved on) is forgotten and the `conflict` error thrown.
   */
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
    this.saw(doc.docType, doc.docId, doc.version);
    await this.conflictDone(conflictId, resolution, doc);
    return doc;
  }

  /** Sends what is queued now, if connected (it happens by itself on connect and after each edit). */
  flush(): void {
    this.clearRetry();
    this.pump();
  }

  /** @internal Stops the queue (the client closed). */
  close(): void {
    this.closed = true;
    this.clearRetry();
    this.offs.forEach((off) => off());
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
    // the answer is for what is still queued: an operation whose conflict was resolved or went
    // stale while the batch was in flight has left the queue, and must not come back with it; a
    // failure says nothing about one the inbox meanwhile reported in conflict (it stays so)
    const open = (): Entry[] => batch.filter((e) => this.entries.get(e.op.seq) === e);
    this.client
      .request({ op: 'sync', ops: bodies }, timeout)
      .then(
        (body) => this.answered(open(), body),
        (err: unknown) =>
          this.refused(
            open().filter((e) => e.op.status === 'sending'),
            err instanceof TandemError ? err : unavailable(String(err)),
          ),
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
      this.saw(e.op.docType, e.op.docId, version);
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

  private async conflictFrame(f: ConflictFrame): Promise<void> {
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

  // ------------------------------------------------------------------ observing

  private observe(e: TandemEvent): void {
    if ((e.type === 'doc.changed' || e.type === 'doc.deleted') && isJsonObject(e.data)) {
      const d = e.data;
      if (typeof d['docType'] === 'string' && typeof d['docId'] === 'string' && typeof d['version'] === 'number') {
        this.saw(d['docType'], d['docId'], d['version']);
      }
    } else if (e.type === 'doc.overwritten' && e.position !== undefined && this.client.welcome !== undefined
        && e.channel === `user:${this.client.welcome.user}`) {
      this.emitter.emit('overwritten', e.data);
    }
  }
}
