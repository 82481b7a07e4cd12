/**
 * The subscription hub: local subscribers per channel and the encode-once fan-out.
 */
package dev.tandem.hub;
