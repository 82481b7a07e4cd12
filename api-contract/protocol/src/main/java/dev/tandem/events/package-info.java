/**
 * The Kafka side of the contract: the CloudEvents 1.0 envelope Tandem reads domain events in
 * and writes client changes out with.
 */
package dev.tandem.events;
