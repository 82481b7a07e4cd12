/**
 * The publication port ({@link dev.tandem.broker.Broker}): offsets, epochs, history and
 * delivery; and its in-memory adapter for standalone mode.
 */
package dev.tandem.broker;
