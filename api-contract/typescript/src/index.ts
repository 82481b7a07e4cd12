/**
 * `@tandem/client`: the TypeScript client of the Tandem sync gateway (`tandem.v1`).
 *
 * ```ts
 * import { TandemClient } from '@tandem/client';
 *
 * const client = new TandemClient({
 *   url: 'wss://sync.example.com/ws',
 *   getToken: async () => (await fetch('/token')).json(), // {token, expiresAt?} or a string
 * });
 * client.subscribe('location:wh-7', (e) => console.log(e.type, e.data));
 * const board = client.documents.liveQuery('stock_level', { locationId: 'wh-7' });
 * await client.documents.update('stock_level', 'A-1@wh-7', { patch: { inc: { qty: -1 } } });
 * await client.connect();
 * ```
 *
 * @module
 */
export { Backoff, type BackoffOptions } from './backoff.js';
export { TandemClient, type ClientEvents, type ClientStats, type TandemClientOptions } from './client.js';
export { type ConnectionState, type TokenReason, type TokenResult } from './connection.js';
export {
  type EventMap,
  type SubscribeExtras,
  type SubscribeReply,
  type Subscription,
  type SubscriptionHandlers,
  type TandemEvent,
} from './subscriptions.js';
export { type TransportOption, type WebSocketConstructor, type WebSocketLike } from './transport.js';
export { type DeltaFormat } from './deltas.js';
export { toDoc, type ConflictRecord, type Doc } from './doc.js';
export { Documents, type DocumentEvents } from './documents.js';
export { type OpView } from './op-queue.js';
export { type QueryPage } from './reads.js';
export { consoleLogger, type Logger, type Unsubscribe } from './emitter.js';
export { ManualEnvironment, browserEnvironment, type Environment, type EnvironmentChange } from './environment.js';
export { TandemError, type TandemErrorCode } from './errors.js';
export { IndexedDbStorage } from './indexeddb.js';
export {
  LiveDocument,
  LiveQuery,
  type LiveDocumentEvents,
  type LiveQueryChange,
  type LiveQueryEvents,
  type LiveQueryOptions,
} from './live.js';
export {
  apiBaseFor,
  listPushDevices,
  registerPush,
  unregisterPush,
  type PushDevice,
  type PushOptions,
  type PushRegistrationLike,
  type PushSubscriptionLike,
  type RegisterPushOptions,
  type UnregisterPushOptions,
} from './push.js';
export { PresenceChannel, type Member, type PresenceEvents, type PresenceOptions, type Signal } from './presence.js';
export {
  CLOSE_CODES,
  SUBPROTOCOL,
  decodeServerFrame,
  isTransientCode,
  type ClientFrame,
  type DocOpBody,
  type Json,
  type JsonObject,
  type Limits,
  type Patch,
  type Position,
  type Resolution,
  type ServerErrorCode,
  type ServerFrame,
  type WelcomeFrame,
} from './protocol.js';
export {
  FetchEventSource,
  PRESENCE_OVER_SSE,
  sseUrlFor,
  type EventSourceConstructor,
  type EventSourceLike,
  type FetchFunction,
} from './sse.js';
export {
  MemoryStorage,
  type DocChange,
  type NewOp,
  type OpStatus,
  type QueueStorage,
  type StoredConflict,
  type StoredOp,
  type StoredQueue,
} from './storage.js';
