/**
 * Building blocks of the client that are not part of its API, exported for the package's own
 * tests (`@tandem/client/internal`). They may change without notice.
 *
 * @module
 */
export { Positions, TokenBucket } from './positions.js';
export { SseSocket, healthUrlFor, type SseContext } from './sse.js';
