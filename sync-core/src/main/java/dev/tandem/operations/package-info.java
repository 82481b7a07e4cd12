/**
 * The operations layer (DESIGN section 3): every client and service operation of a node written
 * and authorized once, each answering one {@link dev.tandem.operations.Result}, with the
 * per-connection {@link dev.tandem.operations.Subscriptions} every transport shares and the
 * {@link dev.tandem.operations.Hooks} where a backend can take part. Transports (the WebSocket
 * sessions, the REST API) only translate.
 */
package dev.tandem.operations;
