/**
 * The engine's telemetry port: what it counts and times, independent of a metrics library.
 */
package dev.tandem.telemetry;
