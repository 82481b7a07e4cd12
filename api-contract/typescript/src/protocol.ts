/**
 * The wire contract of `tandem.v1` as the client sees it: frame shapes, error and close codes,
 * and a decoder that never throws on what a server sends.
 *
 * Mirrors `dev.tandem.protocol` (ClientFrame, ServerFrame, FrameCodec, ErrorCode, CloseCode) in
 * api-contract; field names are part of the contract.
 *
 * @module
 */

/** The WebSocket subprotocol name of this contract. */
export const SUBPROTOCOL = 'tandem.v1';

/** Any JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A JSON object. */
export type JsonObject = { [key: string]: Json };

/** The stable error codes of `error` frames (`dev.tandem.protocol.ErrorCode`). */
export type ServerErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'forbidden'
  | 'unknown_channel'
  | 'rate_limited'
  | 'too_large'
  | 'conflict'
  | 'not_found'
  | 'limit_exceeded'
  | 'unavailable'
  | 'internal';

/** Codes for which the same request may succeed later without change. */
const TRANSIENT: ReadonlySet<string> = new Set(['rate_limited', 'unavailable', 'internal']);

/** Whether retrying the same request later may succeed (`ErrorCode.isTransient()`). */
export function isTransientCode(code: string): boolean {
  return TRANSIENT.has(code);
}

/**
 * Close codes the server uses and whether a client should reconnect after each
 * (`dev.tandem.protocol.CloseCode`). Codes not listed (1006 abnormal closure, for instance)
 * are network failures: reconnect.
 */
export const CLOSE_CODES: Readonly<Record<number, { name: string; reconnect: boolean }>> = {
  1000: { name: 'normal', reconnect: false },
  1001: { name: 'going away', reconnect: true },
  1002: { name: 'protocol error', reconnect: false },
  1009: { name: 'message too large', reconnect: false },
  1011: { name: 'internal error', reconnect: true },
  1012: { name: 'service restart', reconnect: true },
  4001: { name: 'unauthorized', reconnect: false },
  4002: { name: 'authentication timeout', reconnect: true },
  4003: { name: 'token expired', reconnect: true },
  4004: { name: 'token revoked', reconnect: true },
  4005: { name: 'disconnected by the application', reconnect: false },
  4008: { name: 'flood', reconnect: true },
  4009: { name: 'slow consumer', reconnect: true },
  4010: { name: 'heartbeat timeout', reconnect: true },
  4011: { name: 'idle connection', reconnect: false },
  4029: { name: 'too many connections', reconnect: true },
  4030: { name: 'node full', reconnect: true },
  4031: { name: 'tenant connection limit', reconnect: true },
};

/** The close code that means "token expired: reconnect with a fresh token". */
export const TOKEN_EXPIRED = 4003;

/** The close code that means "this token was revoked": only a freshly issued token may come back. */
export const TOKEN_REVOKED = 4004;

/** A place in a channel's stream: its epoch and an offset within it. */
export interface Position {
  readonly epoch: string;
  readonly offset: number;
}

/** The limits a connection runs under, from `welcome`. */
export interface Limits {
  readonly maxFrameBytes: number;
  readonly messagesPerSecond: number;
  readonly burst: number;
  readonly maxSubscriptions: number;
  /** Typing/cursor signals per second, when the server announces it (`limits.ephemeral-per-second`). */
  readonly ephemeralPerSecond?: number;
}

/** First frame after authentication. */
export interface WelcomeFrame {
  readonly op: 'welcome';
  readonly session: string;
  readonly node: string;
  readonly user: string;
  readonly tenant: string;
  readonly heartbeatMs: number;
  /** When the token expires (ms since the epoch), if it does. */
  readonly expiresAt?: number;
  readonly limits: Limits;
}

/** A publication on a channel. Durable ones carry a position; ephemeral ones (typing, cursor) do not. */
export interface EventFrame {
  readonly op: 'event';
  readonly channel: string;
  readonly position?: Position;
  readonly type: string;
  /** The event id the publisher gave, if it gave one. */
  readonly eventId?: string;
  /** When the gateway accepted it, ms since the Unix epoch (the frame's `ts`). */
  readonly time: number;
  /** The publishing user, for client publications. */
  readonly from?: string;
  /**
   * Only on subscriptions with `delta: 'fossil'`, whose `data` is then a string: false, the
   * payload's whole JSON text; true, a Fossil delta against the previous payload's text.
   */
  readonly delta?: boolean;
  readonly data: Json;
}

/** A presence change (`join`, `leave`, `state`) or snapshot on a channel. */
export interface PresenceFrame {
  readonly op: 'presence';
  readonly channel: string;
  readonly kind: string;
  readonly data: Json;
}

/** A manual document conflict waiting for `conflict.resolve`; durable on `user:{you}` when positioned. */
export interface ConflictFrame {
  readonly op: 'conflict';
  readonly conflictId: string;
  readonly data: JsonObject;
  readonly channel?: string;
  readonly position?: Position;
}

/** The successful answer to the request with the same id; `body` holds every other field. */
export interface ReplyFrame {
  readonly op: 'reply';
  readonly id: number;
  readonly body: JsonObject;
}

/** A refused request (`id` 0 when the request had none or could not be read). */
export interface ErrorFrame {
  readonly op: 'error';
  readonly id: number;
  readonly code: string;
  readonly message: string;
}

/** Sent just before the server closes the socket with the same code. */
export interface DisconnectFrame {
  readonly op: 'disconnect';
  readonly code: number;
  readonly reason: string;
  readonly reconnect: boolean;
}

/** Every frame a server sends. */
export type ServerFrame =
  | WelcomeFrame
  | EventFrame
  | PresenceFrame
  | ConflictFrame
  | ReplyFrame
  | ErrorFrame
  | DisconnectFrame;

/** A frame the client sends; `id` asks for exactly one reply or error. */
export type ClientFrame =
  | { op: 'connect'; id?: number; token: string }
  | { op: 'refresh'; id?: number; token: string }
  | { op: 'subscribe'; id?: number; channel: string; since?: Position; presence?: boolean; snapshot?: boolean; delta?: string }
  | { op: 'unsubscribe'; id?: number; channel: string }
  | { op: 'publish'; id?: number; channel: string; type: string; data: Json; ephemeral?: boolean }
  | { op: 'presence'; id?: number; channel: string; state?: JsonObject }
  | { op: 'ack'; id?: number; channel: string; offset: number; epoch?: string }
  | { op: 'ping'; id?: number }
  | { op: 'doc.get'; id?: number; docType: string; docId: string }
  | ({ op: 'doc.update'; id?: number } & DocOpBody)
  | { op: 'doc.query'; id?: number; docType: string; where: JsonObject; limit?: number; after?: string }
  | { op: 'sync'; id?: number; ops: DocOpBody[] }
  | { op: 'conflict.resolve'; id?: number; conflictId: string; resolution: Resolution; data?: JsonObject };

/** A patch: set fields, unset fields, add numeric deltas (top-level fields, each in one part at most). */
export interface Patch {
  set?: JsonObject;
  unset?: string[];
  inc?: { [field: string]: number };
}

/** The body of one document operation (`doc.update`, or one element of `sync.ops`). */
export type DocOpBody = {
  docType: string;
  docId: string;
  baseVersion: number;
  opId: string;
  /** The same author's previous queued edit of this document, which this one follows. */
  afterOpId?: string;
} & ({ data: JsonObject } | { patch: Patch | { delete: true } });

/** How a manual conflict is resolved. */
export type Resolution = 'accept_local' | 'accept_server' | 'merge';

/** A frame the decoder could not accept; the client logs it and carries on. */
export interface DecodeFailure {
  readonly op: 'invalid';
  /** The request id, when it could be read: that request fails instead of waiting. */
  readonly id: number;
  readonly reason: string;
}

/** Largest id the protocol accepts (2^53 - 1). */
const MAX_ID = Number.MAX_SAFE_INTEGER;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

class Invalid extends Error {}

function str(o: JsonObject, name: string): string {
  const v = o[name];
  if (typeof v !== 'string') {
    throw new Invalid(`field '${name}' must be a string`);
  }
  return v;
}

function optStr(o: JsonObject, name: string): string | undefined {
  return o[name] === undefined || o[name] === null ? undefined : str(o, name);
}

function nonNegInt(o: JsonObject, name: string): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Invalid(`field '${name}' must be a non-negative integer`);
  }
  return v;
}

function obj(o: JsonObject, name: string): JsonObject {
  const v = o[name];
  if (!isObject(v)) {
    throw new Invalid(`field '${name}' must be an object`);
  }
  return v;
}

function bool(o: JsonObject, name: string, fallback: boolean): boolean {
  const v = o[name];
  if (v === undefined || v === null) {
    return fallback;
  }
  if (typeof v !== 'boolean') {
    throw new Invalid(`field '${name}' must be a boolean`);
  }
  return v;
}

function present(o: JsonObject, name: string): Json {
  const v = o[name];
  if (v === undefined || v === null) {
    throw new Invalid(`missing field '${name}'`);
  }
  return v;
}

/** Reads an optional position `{epoch, offset}` given as top-level fields. */
function optPosition(o: JsonObject): Position | undefined {
  if (o['epoch'] === undefined || o['epoch'] === null) {
    return undefined;
  }
  const epoch = str(o, 'epoch');
  if (epoch === '') {
    throw new Invalid("field 'epoch' must not be empty");
  }
  return { epoch, offset: nonNegInt(o, 'offset') };
}

/**
 * Decodes one text frame from a server. Never throws: anything that is not a frame of the
 * contract comes back as a {@link DecodeFailure} (with the request id when it could be read).
 * Fields the contract does not know are kept in replies and ignored elsewhere.
 */
export function decodeServerFrame(text: string): ServerFrame | DecodeFailure {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    return { op: 'invalid', id: 0, reason: `malformed JSON: ${(e as Error).message}` };
  }
  if (!isObject(parsed)) {
    return { op: 'invalid', id: 0, reason: 'a frame must be one JSON object' };
  }
  const o = parsed;
  let id = 0;
  const rawId = o['id'];
  if (rawId !== undefined && rawId !== null) {
    if (typeof rawId !== 'number' || !Number.isSafeInteger(rawId) || rawId < 1 || rawId > MAX_ID) {
      return { op: 'invalid', id: 0, reason: "field 'id' must be a positive integer" };
    }
    id = rawId;
  }
  try {
    const op = str(o, 'op');
    switch (op) {
      case 'welcome': {
        const l = obj(o, 'limits');
        const expires = optStr(o, 'expiresAt');
        const expiresAt = expires === undefined ? undefined : Date.parse(expires);
        if (expiresAt !== undefined && Number.isNaN(expiresAt)) {
          throw new Invalid("field 'expiresAt' must be an ISO-8601 instant");
        }
        const eps = l['ephemeralPerSecond'];
        const limits: Limits = {
          maxFrameBytes: nonNegInt(l, 'maxFrameBytes'),
          messagesPerSecond: nonNegInt(l, 'messagesPerSecond'),
          burst: nonNegInt(l, 'burst'),
          maxSubscriptions: nonNegInt(l, 'maxSubscriptions'),
          ...(typeof eps === 'number' && eps > 0 ? { ephemeralPerSecond: eps } : {}),
        };
        return {
          op,
          session: str(o, 'session'),
          node: str(o, 'node'),
          user: str(o, 'user'),
          tenant: str(o, 'tenant'),
          heartbeatMs: nonNegInt(o, 'heartbeatMs'),
          ...(expiresAt === undefined ? {} : { expiresAt }),
          limits,
        };
      }
      case 'event': {
        const ephemeral = bool(o, 'ephemeral', false);
        const position = ephemeral ? undefined : optPosition(o);
        if (!ephemeral && position === undefined) {
          throw new Invalid("missing field 'epoch'");
        }
        const from = optStr(o, 'from');
        const eventId = optStr(o, 'eventId');
        const delta = o['delta'] === undefined || o['delta'] === null ? undefined : bool(o, 'delta', false);
        if (delta !== undefined) {
          str(o, 'data'); // a delta subscription's data is text
        }
        return {
          op,
          channel: str(o, 'channel'),
          ...(position === undefined ? {} : { position }),
          type: str(o, 'type'),
          ...(eventId === undefined ? {} : { eventId }),
          time: nonNegInt(o, 'ts'),
          ...(from === undefined ? {} : { from }),
          ...(delta === undefined ? {} : { delta }),
          data: present(o, 'data'),
        };
      }
      case 'presence':
        return { op, channel: str(o, 'channel'), kind: str(o, 'kind'), data: present(o, 'data') };
      case 'conflict': {
        const channel = optStr(o, 'channel');
        const position = optPosition(o);
        return {
          op,
          conflictId: str(o, 'conflictId'),
          data: obj(o, 'data'),
          ...(channel === undefined ? {} : { channel }),
          ...(position === undefined ? {} : { position }),
        };
      }
      case 'reply': {
        if (id === 0) {
          throw new Invalid("a reply needs an 'id'");
        }
        const body: JsonObject = { ...o };
        delete body['op'];
        delete body['id'];
        return { op, id, body };
      }
      case 'error':
        return { op, id, code: str(o, 'code'), message: optStr(o, 'message') ?? '' };
      case 'disconnect':
        return {
          op,
          code: nonNegInt(o, 'code'),
          reason: optStr(o, 'reason') ?? '',
          reconnect: bool(o, 'reconnect', false),
        };
      default:
        return { op: 'invalid', id, reason: `unknown op '${op.slice(0, 64)}'` };
    }
  } catch (e) {
    if (e instanceof Invalid) {
      return { op: 'invalid', id, reason: e.message };
    }
    throw e;
  }
}

/** Whether a value is a JSON object (not an array, not null). */
export function isJsonObject(v: unknown): v is JsonObject {
  return isObject(v);
}
