/**
 * Delta compression of payloads in the Fossil delta format: {@link dev.tandem.delta.Fossil}
 * encodes the difference between two byte sequences and applies it again, checking the length
 * and checksum the format carries.
 */
package dev.tandem.delta;
