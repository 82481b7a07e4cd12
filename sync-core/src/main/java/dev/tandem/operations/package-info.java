/**
 * The operations layer: every client and service operation of a node written and authorized
 * once, by concept ({@link dev.tandem.operations.Authentication},
 * {@link dev.tandem.operations.Channels} with the per-connection
 * {@link dev.tandem.operations.Subscriptions}, {@link dev.tandem.operations.Presences},
 * {@link dev.tandem.operations.FleetControl}, {@link dev.tandem.operations.DocumentOperations}),
 * each answering one {@link dev.tandem.operations.Result}, with the
 * {@link dev.tandem.operations.Hooks} where a backend can take part. Transports only translate;
 * nothing here knows them.
 */
package dev.tandem.operations;
