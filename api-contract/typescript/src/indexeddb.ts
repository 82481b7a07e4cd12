import { TandemError } from './errors.js';
import { newClientId, type NewOp, type QueueStorage, type StoredConflict, type StoredOp, type StoredQueue } from './storage.js';

const VERSION = 1;
const META = 'meta';
const OPS = 'ops';
const CONFLICTS = 'conflicts';

/** Turns an IndexedDB failure into a coded error (`storage_quota` when the origin's quota is used up). */
function storageError(what: string, error: DOMException | null | undefined): TandemError {
  const name = error?.name ?? 'UnknownError';
  const quota = name === 'QuotaExceededError';
  return new TandemError(quota ? 'storage_quota' : 'storage', `${what}: ${name}${error?.message ? ` (${error.message})` : ''}`, {
    transient: false,
    cause: error,
  });
}

/**
 * The offline queue in the browser's IndexedDB (database `tandem:{name}`): a page reload, a
 * crash or a closed tab loses nothing. The client id and the next sequence number live in a
 * `meta` store and are read and advanced in the same transaction that stores a new operation,
 * so two tabs of one app never hand out the same opId. A full origin quota rejects with
 * `storage_quota`.
 */
export class IndexedDbStorage implements QueueStorage {
  private db: Promise<IDBDatabase> | undefined;
  private clientId: string | undefined;

  /** @param name distinguishes queues, e.g. per app and user (default `default`) */
  // the global's, not a parameter: a DOM type in the public signature would break Node projects
  // that compile without the DOM library
  private readonly factory: IDBFactory | undefined = (globalThis as { indexedDB?: IDBFactory }).indexedDB;

  constructor(readonly name: string = 'default') {}

  /** Whether IndexedDB exists here. */
  static available(): boolean {
    return typeof (globalThis as { indexedDB?: IDBFactory }).indexedDB !== 'undefined';
  }

  load(): Promise<StoredQueue> {
    return this.open().then(
      (db) =>
        new Promise<StoredQueue>((resolve, reject) => {
          const tx = db.transaction([META, OPS, CONFLICTS], 'readwrite');
          let clientId: string | undefined;
          let ops: StoredOp[] = [];
          let conflicts: StoredConflict[] = [];
          const meta = tx.objectStore(META);
          const get = meta.get('clientId');
          get.onsuccess = () => {
            clientId = typeof get.result === 'string' ? get.result : undefined;
            if (clientId === undefined) {
              clientId = newClientId();
              meta.put(clientId, 'clientId');
            }
          };
          const all = tx.objectStore(OPS).getAll();
          all.onsuccess = () => {
            ops = (all.result as StoredOp[]).sort((a, b) => a.seq - b.seq);
          };
          const allConflicts = tx.objectStore(CONFLICTS).getAll();
          allConflicts.onsuccess = () => {
            conflicts = allConflicts.result as StoredConflict[];
          };
          tx.oncomplete = () => {
            this.clientId = clientId;
            resolve({ clientId: clientId as string, ops, conflicts });
          };
          tx.onerror = () => reject(storageError('reading the queue', tx.error));
          tx.onabort = () => reject(storageError('reading the queue', tx.error));
        }),
    );
  }

  append(op: NewOp): Promise<StoredOp> {
    return this.open().then(
      (db) =>
        new Promise<StoredOp>((resolve, reject) => {
          const tx = db.transaction([META, OPS], 'readwrite');
          let stored: StoredOp | undefined;
          const meta = tx.objectStore(META);
          const get = meta.get('nextSeq');
          get.onsuccess = () => {
            const seq = typeof get.result === 'number' ? get.result : 1;
            const clientId = this.clientId;
            if (clientId === undefined) {
              tx.abort();
              return;
            }
            stored = { ...op, opId: `${clientId}:${seq}`, seq };
            meta.put(seq + 1, 'nextSeq');
            tx.objectStore(OPS).put(stored);
          };
          tx.oncomplete = () => resolve(stored as StoredOp);
          tx.onabort = () =>
            reject(
              this.clientId === undefined
                ? new TandemError('storage', 'load() the storage first', { transient: false })
                : storageError('queueing an operation', tx.error),
            );
        }),
    );
  }

  put(op: StoredOp): Promise<void> {
    return this.write(OPS, 'updating an operation', (s) => s.put(op));
  }

  remove(seq: number): Promise<void> {
    return this.write(OPS, 'removing an operation', (s) => s.delete(seq));
  }

  putConflict(conflict: StoredConflict): Promise<void> {
    return this.write(CONFLICTS, 'keeping a conflict', (s) => s.put(conflict));
  }

  removeConflict(conflictId: string): Promise<void> {
    return this.write(CONFLICTS, 'removing a conflict', (s) => s.delete(conflictId));
  }

  close(): void {
    const db = this.db;
    this.db = undefined;
    db?.then((d) => d.close()).catch(() => undefined);
  }

  private write(store: string, what: string, action: (s: IDBObjectStore) => void): Promise<void> {
    return this.open().then(
      (db) =>
        new Promise<void>((resolve, reject) => {
          const tx = db.transaction([store], 'readwrite');
          action(tx.objectStore(store));
          tx.oncomplete = () => resolve();
          tx.onabort = () => reject(storageError(what, tx.error));
        }),
    );
  }

  private open(): Promise<IDBDatabase> {
    if (this.db !== undefined) {
      return this.db;
    }
    const factory = this.factory;
    if (factory === undefined) {
      return Promise.reject(new TandemError('storage', 'IndexedDB is not available here', { transient: false }));
    }
    this.db = new Promise<IDBDatabase>((resolve, reject) => {
      const req = factory.open(`tandem:${this.name}`, VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains(META)) {
          db.createObjectStore(META);
        }
        if (!db.objectStoreNames.contains(OPS)) {
          db.createObjectStore(OPS, { keyPath: 'seq' });
        }
        if (!db.objectStoreNames.contains(CONFLICTS)) {
          db.createObjectStore(CONFLICTS, { keyPath: 'conflictId' });
        }
      };
      req.onsuccess = () => {
        const db = req.result;
        db.onversionchange = () => db.close();
        resolve(db);
      };
      req.onerror = () => reject(storageError('opening IndexedDB', req.error));
      req.onblocked = () => reject(new TandemError('storage', 'IndexedDB is blocked by another tab', { transient: true }));
    });
    this.db.catch(() => {
      this.db = undefined;
    });
    return this.db;
  }
}
