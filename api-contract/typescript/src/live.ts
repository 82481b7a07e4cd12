import type { TandemClient } from './client.js';
import type { SubscribeReply, Subscription, TandemEvent } from './subscriptions.js';
import { toDoc, type Doc } from './doc.js';
import type { Documents } from './documents.js';
import { Emitter, type Unsubscribe } from './emitter.js';
import { TandemError } from './errors.js';
import { isJsonObject, type Json, type JsonObject, type Position } from './protocol.js';

/** Events of a {@link LiveDocument}. */
export interface LiveDocumentEvents<T extends JsonObject> {
  /** The document changed (null: it does not exist). */
  change: (doc: Doc<T> | null) => void;
  /** Loading or following failed for good (e.g. `forbidden`). */
  error: (error: TandemError) => void;
}

/**
 * One document kept current. It subscribes to `doc:{type}:{id}` asking for a snapshot, so the
 * document and the channel position come together; later changes arrive as `doc.changed` /
 * `doc.deleted` events, and any at or below the version held are dropped (they were already in
 * the snapshot). After a reconnect the subscription resumes, and the snapshot of the new
 * subscribe reply replaces the document when it is newer. Against a server without snapshots it
 * subscribes first and then reads the document (`doc.get`), which is as safe, one round trip later.
 */
export class LiveDocument<T extends JsonObject = JsonObject> {
  private current: Doc<T> | null | undefined;
  private readonly emitter: Emitter<LiveDocumentEvents<T>>;
  private readonly sub: Subscription;
  private resolveReady: ((doc: Doc<T> | null) => void) | undefined;
  private rejectReady: ((e: TandemError) => void) | undefined;

  /** Resolves with the first state (null: no such document). */
  readonly ready: Promise<Doc<T> | null>;
  /** The channel followed. */
  readonly channel: string;

  constructor(
    private readonly client: TandemClient,
    private readonly docs: Documents,
    readonly docType: string,
    readonly docId: string,
  ) {
    this.emitter = new Emitter<LiveDocumentEvents<T>>(client.log);
    this.channel = `doc:${docType}:${docId}`;
    this.ready = new Promise((resolve, reject) => {
      this.resolveReady = resolve;
      this.rejectReady = reject;
    });
    this.ready.catch(() => undefined);
    this.sub = client.subscribe(
      this.channel,
      {
        onSubscribed: (reply) => void this.subscribed(reply),
        onEvent: (e) => this.event(e),
        onEnded: (e) => this.failed(e),
      },
      { snapshot: true },
    );
  }

  /** The document now: undefined before the first load, null when it does not exist. */
  get doc(): Doc<T> | null | undefined {
    return this.current;
  }

  /** Listens to a change; returns the remover. */
  on<K extends keyof LiveDocumentEvents<T>>(event: K, listener: LiveDocumentEvents<T>[K]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  /** Stops following. */
  close(): void {
    this.sub.unsubscribe();
  }

  private async subscribed(reply: SubscribeReply): Promise<void> {
    if ('document' in reply.body) {
      const raw = reply.body['document'];
      this.apply(raw === null ? null : (toDoc<T>(raw) ?? null));
      return;
    }
    try {
      this.apply(await this.docs.get<T>(this.docType, this.docId));
    } catch (e) {
      this.client.log.warn(`reading ${this.channel}: ${(e as Error).message}`);
      if (e instanceof TandemError && !e.transient) {
        this.failed(e);
      }
    }
  }

  private event(e: TandemEvent): void {
    if (e.type !== 'doc.changed' && e.type !== 'doc.deleted') {
      return;
    }
    const doc = toDoc<T>(e.data);
    if (doc !== undefined && doc.docType === this.docType && doc.docId === this.docId) {
      this.apply(doc);
    }
  }

  private apply(doc: Doc<T> | null): void {
    const held = this.current;
    if (doc === null) {
      if (held === undefined) {
        this.current = null;
        this.loaded();
        this.emitter.emit('change', null);
      }
      return;
    }
    if (held !== undefined && held !== null && doc.version <= held.version) {
      this.loaded();
      return; // already in what we hold
    }
    this.docs.saw(doc.docType, doc.docId, doc.version);
    this.current = doc;
    this.loaded();
    this.emitter.emit('change', doc);
  }

  private loaded(): void {
    this.resolveReady?.(this.current ?? null);
    this.resolveReady = undefined;
    this.rejectReady = undefined;
  }

  private failed(e: TandemError): void {
    this.rejectReady?.(e);
    this.resolveReady = undefined;
    this.rejectReady = undefined;
    this.emitter.emit('error', e);
  }
}

/** Options of {@link LiveQuery}. */
export interface LiveQueryOptions {
  /** Documents per page while loading (default 100). */
  pageSize?: number;
}

/** A change of a live query's result. */
export interface LiveQueryChange<T extends JsonObject> {
  /** `added` (new to the set), `changed`, or `removed` (deleted, or no longer matching). */
  readonly kind: 'added' | 'changed' | 'removed';
  readonly doc: Doc<T>;
}

/** Events of a {@link LiveQuery}. */
export interface LiveQueryEvents<T extends JsonObject> {
  /** The whole set was (re)loaded: first load, and after a gap that could not be recovered. */
  reset: (docs: ReadonlyMap<string, Doc<T>>) => void;
  /** One document changed. */
  change: (change: LiveQueryChange<T>) => void;
  /** Loading or following failed for good. */
  error: (error: TandemError) => void;
}

/**
 * The documents of one type whose fields equal `where`, loaded page by page and then followed
 * ("load, then follow"): the first page comes with the position of the channel the documents
 * publish to; once every page is loaded, the query subscribes to that channel from that
 * position, so the server replays everything published since the first read, and applies each
 * change whose version is above the one it holds for that document (older ones were already in
 * a page). When the server cannot replay a gap (a long disconnection) it loads again, applying
 * what arrives meanwhile afterwards, in order.
 */
export class LiveQuery<T extends JsonObject = JsonObject> {
  private readonly docsById = new Map<string, Doc<T>>();
  /** The version held per document, departures and deletions included, so nothing older comes back. */
  private readonly held = new Map<string, number>();
  private readonly emitter: Emitter<LiveQueryEvents<T>>;
  private sub: Subscription | undefined;
  private buffer: TandemEvent[] | undefined;
  private reloading: Promise<void> | undefined;
  private closed = false;
  private followed: string | null | undefined;
  private readonly pageSize: number;

  /** Resolves once the first load is complete and following has started. */
  readonly ready: Promise<void>;

  constructor(
    private readonly client: TandemClient,
    private readonly docs: Documents,
    readonly docType: string,
    readonly where: JsonObject,
    options: LiveQueryOptions = {},
  ) {
    this.emitter = new Emitter<LiveQueryEvents<T>>(client.log);
    this.pageSize = options.pageSize ?? 100;
    this.ready = this.start();
    this.ready.catch((e: unknown) => {
      this.emitter.emit('error', e instanceof TandemError ? e : new TandemError('internal', String(e)));
    });
  }

  /** The matching documents by id. */
  get documents(): ReadonlyMap<string, Doc<T>> {
    return this.docsById;
  }

  /** The channel followed: null when the type publishes to none for this filter, undefined before loading. */
  get channel(): string | null | undefined {
    return this.followed;
  }

  /** Listens to a change; returns the remover. */
  on<K extends keyof LiveQueryEvents<T>>(event: K, listener: LiveQueryEvents<T>[K]): Unsubscribe {
    return this.emitter.on(event, listener);
  }

  /** Stops following. */
  close(): void {
    this.closed = true;
    this.sub?.unsubscribe();
  }

  private async start(): Promise<void> {
    await this.whenConnected();
    const first = await this.pages();
    if (this.closed) {
      return;
    }
    this.replace(first.docs);
    this.followed = first.channel;
    if (first.channel === null || first.position === null) {
      return;
    }
    const handlers = {
      onEvent: (e: TandemEvent) => this.event(e),
      onRecoveryLost: () => void this.reload(),
      onEnded: (e: TandemError) => this.emitter.emit('error', e),
    };
    if (this.client.isSubscribed(first.channel)) {
      // followed already by someone else from its own position: what was published between our
      // first read and joining is not replayed for us, so read again while buffering
      this.buffer = [];
      this.sub = this.client.subscribe(first.channel, handlers);
      await this.sub.ready;
      await this.reload();
    } else {
      this.sub = this.client.subscribe(first.channel, handlers, { since: first.position });
      await this.sub.ready;
    }
  }

  private whenConnected(): Promise<void> {
    if (this.client.isReady) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const off = this.client.onReady(() => {
        off();
        resolve();
      });
    });
  }

  /** Reads every page; the position is the first page's. */
  private async pages(): Promise<{ docs: Doc<T>[]; channel: string | null; position: Position | null }> {
    const docs: Doc<T>[] = [];
    let after: string | undefined;
    let first: { channel: string | null; position: Position | null } | undefined;
    do {
      const page = await this.docs.query<T>(this.docType, this.where, {
        limit: this.pageSize,
        ...(after === undefined ? {} : { after }),
      });
      first ??= { channel: page.channel, position: page.position };
      docs.push(...page.documents);
      after = page.next ?? undefined;
    } while (after !== undefined && !this.closed);
    return { docs, channel: first?.channel ?? null, position: first?.position ?? null };
  }

  /** Loads again while the subscription stays; events that arrive meanwhile are applied after, in order. */
  private reload(): Promise<void> {
    if (this.reloading !== undefined) {
      return this.reloading;
    }
    this.buffer ??= [];
    const run = async (): Promise<void> => {
      for (;;) {
        try {
          const { docs } = await this.pages();
          if (this.closed) {
            return;
          }
          this.replace(docs);
          break;
        } catch (e) {
          if (!(e instanceof TandemError) || !e.transient || this.closed) {
            throw e;
          }
          await this.whenConnected();
        }
      }
      const buffered = this.buffer ?? [];
      this.buffer = undefined;
      buffered.forEach((e) => this.event(e));
    };
    this.reloading = run()
      .catch((e: unknown) => {
        this.buffer = undefined;
        this.emitter.emit('error', e instanceof TandemError ? e : new TandemError('internal', String(e)));
      })
      .finally(() => {
        this.reloading = undefined;
      });
    return this.reloading;
  }

  private replace(docs: Doc<T>[]): void {
    this.docsById.clear();
    this.held.clear();
    for (const d of docs) {
      this.docsById.set(d.docId, d);
      this.held.set(d.docId, d.version);
      this.docs.saw(d.docType, d.docId, d.version);
    }
    this.emitter.emit('reset', this.docsById);
  }

  private matches(data: JsonObject): boolean {
    for (const [field, value] of Object.entries(this.where)) {
      if (!sameJson(data[field], value)) {
        return false;
      }
    }
    return true;
  }

  private event(e: TandemEvent): void {
    if (this.buffer !== undefined) {
      this.buffer.push(e);
      return;
    }
    if (e.type !== 'doc.changed' && e.type !== 'doc.deleted') {
      return;
    }
    const doc = toDoc<T>(e.data);
    if (doc === undefined || doc.docType !== this.docType) {
      return;
    }
    if (doc.version <= (this.held.get(doc.docId) ?? 0)) {
      return; // already in what we hold
    }
    this.held.set(doc.docId, doc.version);
    const member = !doc.deleted && this.matches(doc.data);
    const had = this.docsById.has(doc.docId);
    if (member) {
      this.docsById.set(doc.docId, doc);
      this.emitter.emit('change', { kind: had ? 'changed' : 'added', doc });
    } else if (had) {
      this.docsById.delete(doc.docId);
      this.emitter.emit('change', { kind: 'removed', doc });
    }
  }
}

function sameJson(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) {
    return true;
  }
  if (isJsonObject(a) || isJsonObject(b) || Array.isArray(a) || Array.isArray(b)) {
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return false;
}
