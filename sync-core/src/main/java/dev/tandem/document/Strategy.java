package dev.tandem.document;

import java.util.Arrays;
import java.util.Optional;

/**
 * How a concurrent change was (or is to be) reconciled. The first four are the per-type
 * strategies for overlapping fields; {@link #MERGE} names a merge where nothing overlapped
 * (disjoint fields, commuting counters).
 */
public enum Strategy {
    /** The change received last by the server wins; ties by a stable order of operation ids. */
    LAST_WRITE_WINS("last-write-wins"),
    /** The stored value is kept. */
    SERVER_WINS("server-wins"),
    /** The incoming value wins. */
    CLIENT_WINS("client-wins"),
    /** A conflict record waits for {@code conflict.resolve}. */
    MANUAL("manual"),
    /** Nothing overlapped: disjoint fields and counter deltas were combined. */
    MERGE("merge");

    private final String wire;

    Strategy(String wire) {
        this.wire = wire;
    }

    /** The name used in configuration, results and audit. */
    public String wire() {
        return wire;
    }

    /** The strategy with this name. */
    public static Optional<Strategy> fromWire(String wire) {
        return Arrays.stream(values()).filter(s -> s.wire.equals(wire)).findFirst();
    }
}
