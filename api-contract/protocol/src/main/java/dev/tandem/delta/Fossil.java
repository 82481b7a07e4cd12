package dev.tandem.delta;

import java.util.Objects;

/**
 * Delta compression in the Fossil delta format: {@link #encode} the difference between a source
 * and a target, {@link #apply} it to the same source to get the target back.
 *
 * <p>A delta carries the target's length and checksum, so applying it to another source than the
 * one it was made from (a broken chain) is detected instead of producing wrong bytes. Deltas of
 * UTF-8 text are UTF-8 text: copies never split a character, so literals hold whole characters.
 * Deltas made by Fossil itself apply too. Thread-safe; nothing is kept between calls.
 */
public final class Fossil {
    private Fossil() {
    }

    /**
     * The delta that turns {@code source} into {@code target}. Costs one pass over the source
     * (to index it) and about one over the target, even when they have nothing in common.
     */
    public static byte[] encode(byte[] source, byte[] target) {
        return Encoder.encode(Objects.requireNonNull(source, "source"), Objects.requireNonNull(target, "target"));
    }

    /**
     * The target that {@code delta} makes from {@code source}.
     *
     * @throws DeltaException when the delta is malformed or does not fit this source: a copy out
     *                        of range, a length or a checksum that differs from what it declares
     */
    public static byte[] apply(byte[] source, byte[] delta) {
        return Decoder.apply(Objects.requireNonNull(source, "source"), Objects.requireNonNull(delta, "delta"));
    }
}
