/**
 * The connection runtime, one for every transport: the {@link dev.tandem.session.Engine} holding
 * a node's {@link dev.tandem.session.Session}s (one per WebSocket, SSE stream or later
 * {@link dev.tandem.session.Transport}), which turn client frames into calls on the operations
 * layer through one dispatcher; their admission and limits, one timer sweep, and the bounded
 * outbound queues the node's shard writers write.
 */
package dev.tandem.session;
