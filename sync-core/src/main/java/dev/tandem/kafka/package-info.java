/**
 * Kafka adapters: the ingest of domain events from backends (CloudEvents in), with routing
 * rules and a dead-letter topic.
 */
package dev.tandem.kafka;
