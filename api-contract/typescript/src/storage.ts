import { TandemError } from './errors.js';
import type { JsonObject, Patch } from './protocol.js';

/**
 * Where an operation stands: `queued → sending → applied | merged | duplicate | conflict |
 * rejected | failed`. `applied`, `merged` and `duplicate` are done; `conflict` waits for a
 * resolution; `rejected` (the server refused it, e.g. an invariant) and `failed` (it could not be
 * sent: too large, refused as a whole, or queued by another user) stay until dismissed. A `queued`
 * edit with `heldBy` waits for the conflict of the edit it follows.
 */
export type OpStatus = 'queued' | 'sending' | 'applied' | 'merged' | 'duplicate' | 'conflict' | 'rejected' | 'failed';

/** What an operation changes: the whole data, a patch, or a delete. */
export type DocChange = { data: JsonObject } | { patch: Patch } | { patch: { delete: true } };

/** An operation as the queue keeps it (and the storage persists it). */
export interface StoredOp {
  /** `{clientId}:{seq}`: unique per device, the server's idempotency key. */
  readonly opId: string;
  /** Position in the queue; operations are sent in this order. */
  readonly seq: number;
  readonly docType: string;
  readonly docId: string;
  /** The version the edit was made on (the last one this client had seen). */
  readonly baseVersion: number;
  readonly change: DocChange;
  /** Who queued it (`tenant/user`), once known: never sent with another user's token. */
  owner?: string;
  status: OpStatus;
  /** Error or rejection code (`constraint`, `not_found`, `too_large`, `forbidden` …). */
  code?: string;
  /** Why it was rejected or failed, or the last transient failure. */
  reason?: string;
  /** The document version it produced or met. */
  version?: number;
  /** Merged fields and the strategy that decided them. */
  fields?: string[];
  strategy?: string;
  /** The conflict, when the policy left it to a person. */
  conflictId?: string;
  /** The earlier queued edit of the same document this one follows (its predecessor), if any. */
  afterOpId?: string;
  /** The open conflict this queued edit waits for (its predecessor's): sent once it is resolved, dismissed or gone. */
  heldBy?: string;
  /** Send attempts so far. */
  attempts: number;
  readonly createdAt: number;
  updatedAt: number;
}

/** A manual conflict kept until resolved (the record as the server sent it). */
export interface StoredConflict {
  readonly conflictId: string;
  readonly record: JsonObject;
  readonly receivedAt: number;
}

/** What {@link QueueStorage.load} returns. */
export interface StoredQueue {
  /** This device's client id, created on first use and kept. */
  readonly clientId: string;
  /** Operations not yet done or needing attention, by `seq`. */
  readonly ops: StoredOp[];
  /** Open conflicts. */
  readonly conflicts: StoredConflict[];
}

/** An operation before the storage gave it a sequence number. */
export type NewOp = Omit<StoredOp, 'opId' | 'seq'>;

/**
 * Persistence of the offline operation queue. Implementations: {@link MemoryStorage} (Node,
 * tests, apps that need no persistence) and `IndexedDbStorage` (browsers). Every method may
 * reject with a {@link TandemError} coded `storage_quota` (full) or `storage` (anything else);
 * the queue reports those and keeps going in memory.
 */
export interface QueueStorage {
  /** Opens the store and reads it; creates the client id on first use. */
  load(): Promise<StoredQueue>;
  /** Gives the operation the next sequence number (never reused) and stores it, atomically. */
  append(op: NewOp): Promise<StoredOp>;
  /** Replaces a stored operation (same `seq`). */
  put(op: StoredOp): Promise<void>;
  /** Deletes an operation. */
  remove(seq: number): Promise<void>;
  /** Stores an open conflict. */
  putConflict(conflict: StoredConflict): Promise<void>;
  /** Deletes a conflict. */
  removeConflict(conflictId: string): Promise<void>;
  /** Releases the store. */
  close(): void;
}

/** A random client id: 16 characters of `A-Z a-z 0-9`, valid in opIds. */
export function newClientId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) {
    id += alphabet[b % alphabet.length];
  }
  return id;
}

/**
 * Keeps the queue in memory. It survives a new client made with the same instance (a
 * "reload" within one process), not the process. `maxBytes` bounds what it holds (JSON size of
 * the operations and conflicts); beyond it writes fail with `storage_quota`, as a full browser
 * store would.
 */
export class MemoryStorage implements QueueStorage {
  private clientId: string | undefined;
  private nextSeq = 1;
  private readonly ops = new Map<number, StoredOp>();
  private readonly conflicts = new Map<string, StoredConflict>();
  private readonly maxBytes: number;

  constructor(options: { maxBytes?: number; clientId?: string } = {}) {
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    this.clientId = options.clientId;
  }

  load(): Promise<StoredQueue> {
    this.clientId ??= newClientId();
    return Promise.resolve({
      clientId: this.clientId,
      ops: [...this.ops.values()].sort((a, b) => a.seq - b.seq).map((o) => structuredClone(o)),
      conflicts: [...this.conflicts.values()].map((c) => structuredClone(c)),
    });
  }

  append(op: NewOp): Promise<StoredOp> {
    if (this.clientId === undefined) {
      return Promise.reject(new TandemError('storage', 'load() the storage first', { transient: false }));
    }
    const seq = this.nextSeq;
    const stored: StoredOp = { ...structuredClone(op), opId: `${this.clientId}:${seq}`, seq };
    try {
      this.fits(JSON.stringify(stored).length);
    } catch (e) {
      return Promise.reject(e);
    }
    this.nextSeq++;
    this.ops.set(seq, stored);
    return Promise.resolve(structuredClone(stored));
  }

  put(op: StoredOp): Promise<void> {
    const old = this.ops.get(op.seq);
    try {
      this.fits(JSON.stringify(op).length - (old === undefined ? 0 : JSON.stringify(old).length));
    } catch (e) {
      return Promise.reject(e);
    }
    this.ops.set(op.seq, structuredClone(op));
    return Promise.resolve();
  }

  remove(seq: number): Promise<void> {
    this.ops.delete(seq);
    return Promise.resolve();
  }

  putConflict(conflict: StoredConflict): Promise<void> {
    try {
      this.fits(JSON.stringify(conflict).length);
    } catch (e) {
      return Promise.reject(e);
    }
    this.conflicts.set(conflict.conflictId, structuredClone(conflict));
    return Promise.resolve();
  }

  removeConflict(conflictId: string): Promise<void> {
    this.conflicts.delete(conflictId);
    return Promise.resolve();
  }

  close(): void {}

  /** Bytes held now (JSON length of what is stored). */
  size(): number {
    let n = 0;
    this.ops.forEach((o) => (n += JSON.stringify(o).length));
    this.conflicts.forEach((c) => (n += JSON.stringify(c).length));
    return n;
  }

  private fits(extra: number): void {
    if (this.size() + extra > this.maxBytes) {
      throw new TandemError('storage_quota', `the queue storage is full (${this.maxBytes} bytes)`, { transient: false });
    }
  }
}
