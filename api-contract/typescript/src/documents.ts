import type { TandemClient } from './client.js';
import type { TandemEvent } from './subscriptions.js';
import { Emitter, type Unsubscribe } from './emitter.js';
import type { TandemError } from './errors.js';
import type { ConflictRecord, Doc } from './doc.js';
import { LiveDocument, LiveQuery, type LiveQueryOptions } from './live.js';
import { isJsonObject, type Json, type JsonObject, type Resolution } from './protocol.js';
import { DocumentReads, type QueryPage } from './reads.js';
import { OfflineQueue } from './offline-queue.js';
import type { OpView } from './op-queue.js';
import type { DocChange, QueueStorage } from './storage.js';

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
  private readonly reads: DocumentReads;
  private readonly queue: OfflineQueue;
  private readonly offs: Unsubscribe[] = [];

  constructor(
    private readonly client: TandemClient,
    storage: QueueStorage,
  ) {
    this.emitter = new Emitter<DocumentEvents>(client.log);
    this.reads = new DocumentReads(client);
    this.queue = new OfflineQueue(client, storage, this.emitter, this.reads);
    this.ready = this.queue.ready;
    this.offs.push(
      client.onReady(() => this.queue.connected()),
      client.onConflictFrame((f) => this.queue.conflictFrame(f)),
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

  // ------------------------------------------------------------------ writing (the offline queue)

  /**
   * Queues a change and resolves once it is stored (status `queued`; sent at once when
   * connected). `baseVersion` defaults to the newest version this client has seen of the
   * document (0, "create", when none). Rejects only for an invalid change; a storage failure is
   * reported (`storageError`) and the operation kept in memory (`durable: false`).
   */
  update(docType: string, docId: string, change: DocChange, options: { baseVersion?: number } = {}): Promise<OpView> {
    return this.queue.update(docType, docId, change, options);
  }

  /** Resolves once the operation is no longer queued or sending (any other status). */
  settled(opId: string): Promise<OpView> {
    return this.queue.settled(opId);
  }

  /** The operations in the queue (pending, or waiting for attention), in order. */
  ops(): OpView[] {
    return this.queue.ops();
  }

  /** Open conflicts known to this client. */
  conflicts(): ConflictRecord[] {
    return this.queue.conflicts();
  }

  /**
   * Removes a `rejected`, `failed` or `conflict` operation, or one held by a conflict (`heldBy`),
   * from the queue (the app has shown it, or gave it up). The edits that followed it follow its
   * predecessor instead.
   */
  dismiss(opId: string): Promise<void> {
    return this.queue.dismiss(opId);
  }

  /** Queues a `failed` operation again (e.g. after the app fixed what made the server refuse the batch). */
  retry(opId: string): void {
    this.queue.retry(opId);
  }

  /**
   * Resolves a manual conflict: `accept_local` (your change), `accept_server` (your change
   * with the conflicted fields from the server) or `merge` with the merged `data`. Needs a
   * connection. Resolves with the new version of the document. A conflict that was already
   * resolved or went stale (the document moved on) is forgotten and the `conflict` error thrown.
   */
  resolve(conflictId: string, resolution: Resolution, data?: JsonObject): Promise<Doc> {
    return this.queue.resolve(conflictId, resolution, data);
  }

  /** Sends what is queued now, if connected (it happens by itself on connect and after each edit). */
  flush(): void {
    this.queue.flush();
  }

  /** @internal Stops the queue (the client closed). */
  close(): void {
    this.offs.forEach((off) => off());
    this.queue.close();
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
