package dev.tandem.auth;

import dev.tandem.conformance.RevocationsConformanceTest;
import java.time.Clock;

/** The revocations conformance suite against {@link MemoryRevocations}. */
class MemoryRevocationsTest extends RevocationsConformanceTest {
    @Override
    protected Revocations create(Clock clock) {
        return new MemoryRevocations(clock);
    }
}
