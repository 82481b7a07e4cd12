/**
 * Runs what users run, for the integration tests and the soak program: gateway nodes as their
 * own OS processes from the packaged jar ({@code java -jar gateway/target/tandem-gateway.jar},
 * configured by a YAML file), and private Redis and PostgreSQL servers that a test may kill and
 * restart without touching the shared services. Every process started here is killed when the
 * starting JVM exits, and processes left behind by a JVM that died without its shutdown hooks
 * are reaped by the next run (they carry the starting JVM's pid in a marker).
 */
package dev.tandem.harness;
