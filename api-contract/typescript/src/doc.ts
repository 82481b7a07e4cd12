import { isJsonObject, type Json, type JsonObject } from './protocol.js';

/** A document as the server shows it. */
export interface Doc<T extends JsonObject = JsonObject> {
  readonly docType: string;
  readonly docId: string;
  /** 1 for the first version; +1 per accepted change. */
  readonly version: number;
  readonly data: T;
  readonly updatedAt: string;
  readonly updatedBy: string;
  /** A deleted document is a versioned tombstone with empty data. */
  readonly deleted: boolean;
}

/** A manual conflict: the author's change met another one on overlapping fields and waits for a person. */
export interface ConflictRecord {
  readonly conflictId: string;
  readonly docType: string;
  readonly docId: string;
  /** The operation that conflicted. */
  readonly opId: string;
  readonly author: string;
  readonly baseVersion: number;
  readonly serverVersion: number;
  /** The data at the base version ({} when no longer kept). */
  readonly base: JsonObject;
  /** The data now on the server. */
  readonly server: JsonObject;
  /** The data the author's change would give. */
  readonly local: JsonObject;
  /** The conflicted top-level fields. */
  readonly fields: readonly string[];
  /** `open`, `resolved` or `stale`. */
  readonly status: string;
  /** Everything the server sent. */
  readonly raw: JsonObject;
}

/** Parses a document from the wire; undefined when it is not one. */
export function toDoc<T extends JsonObject = JsonObject>(v: Json | undefined): Doc<T> | undefined {
  if (!isJsonObject(v)) {
    return undefined;
  }
  const { docType, docId, version, data, updatedAt, updatedBy, deleted } = v;
  if (typeof docType !== 'string' || typeof docId !== 'string' || typeof version !== 'number' || !isJsonObject(data)) {
    return undefined;
  }
  return {
    docType,
    docId,
    version,
    data: data as T,
    updatedAt: typeof updatedAt === 'string' ? updatedAt : '',
    updatedBy: typeof updatedBy === 'string' ? updatedBy : '',
    deleted: deleted === true,
  };
}

export function toConflict(v: Json | undefined): ConflictRecord | undefined {
  if (!isJsonObject(v) || typeof v['conflictId'] !== 'string') {
    return undefined;
  }
  const obj = (x: Json | undefined): JsonObject => (isJsonObject(x) ? x : {});
  const fields = Array.isArray(v['fields']) ? v['fields'].filter((f): f is string => typeof f === 'string') : [];
  return {
    conflictId: v['conflictId'],
    docType: typeof v['docType'] === 'string' ? v['docType'] : '',
    docId: typeof v['docId'] === 'string' ? v['docId'] : '',
    opId: typeof v['opId'] === 'string' ? v['opId'] : '',
    author: typeof v['author'] === 'string' ? v['author'] : '',
    baseVersion: typeof v['baseVersion'] === 'number' ? v['baseVersion'] : 0,
    serverVersion: typeof v['serverVersion'] === 'number' ? v['serverVersion'] : 0,
    base: obj(v['base']),
    server: obj(v['server']),
    local: obj(v['local']),
    fields,
    status: typeof v['status'] === 'string' ? v['status'] : 'open',
    raw: v,
  };
}

