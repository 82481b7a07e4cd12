package dev.tandem.client;

import java.util.Optional;

import dev.tandem.protocol.Position;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PositionsTest {
    private final Positions positions = new Positions();

    private static Position at(String epoch, long offset) {
        return new Position(epoch, offset);
    }

    @Test
    void firstEventOfAChannelIsAcceptedAndRemembered() {
        assertTrue(positions.accept("c", at("e1", 5)));
        assertEquals(Optional.of(at("e1", 5)), positions.get("c"));
    }

    @Test
    void eventAtOrBelowTheLastOffsetOfTheSameEpochIsADuplicate() {
        positions.accept("c", at("e1", 5));
        assertFalse(positions.accept("c", at("e1", 5)));
        assertFalse(positions.accept("c", at("e1", 3)));
        assertTrue(positions.accept("c", at("e1", 6)));
        assertEquals(Optional.of(at("e1", 6)), positions.get("c"));
    }

    @Test
    void eventOfAnotherEpochIsAcceptedAndReplacesThePosition() {
        positions.accept("c", at("e1", 50));
        assertTrue(positions.accept("c", at("e2", 1)));
        assertEquals(Optional.of(at("e2", 1)), positions.get("c"));
    }

    @Test
    void channelsAreTrackedIndependently() {
        positions.accept("a", at("e1", 9));
        assertTrue(positions.accept("b", at("e1", 1)));
        assertEquals(Optional.of(at("e1", 9)), positions.get("a"));
    }

    @Test
    void topOfAFreshSubscriptionBecomesThePositionSoOnlyLaterEventsPass() {
        positions.top("c", at("e1", 44), false);
        assertFalse(positions.accept("c", at("e1", 44)));
        assertTrue(positions.accept("c", at("e1", 45)));
    }

    @Test
    void recoveredSubscriptionKeepsThePositionSoReplayedEventsPass() {
        positions.accept("c", at("e1", 41));
        positions.top("c", at("e1", 44), true);
        assertEquals(Optional.of(at("e1", 41)), positions.get("c"));
        assertTrue(positions.accept("c", at("e1", 42)));
        assertTrue(positions.accept("c", at("e1", 43)));
        assertTrue(positions.accept("c", at("e1", 44)));
        assertFalse(positions.accept("c", at("e1", 43)));
    }

    @Test
    void unrecoveredSubscriptionJumpsToTheTopButNeverMovesBackInAnEpoch() {
        positions.accept("c", at("e1", 10));
        positions.top("c", at("e1", 44), false);
        assertEquals(Optional.of(at("e1", 44)), positions.get("c"));
        positions.accept("c", at("e1", 46));
        positions.top("c", at("e1", 45), false);
        assertEquals(Optional.of(at("e1", 46)), positions.get("c"));
    }

    @Test
    void topInANewEpochReplacesThePositionEvenIfLower() {
        positions.accept("c", at("e1", 90));
        positions.top("c", at("e2", 3), false);
        assertEquals(Optional.of(at("e2", 3)), positions.get("c"));
    }

    @Test
    void forgottenChannelHasNoPositionAndAcceptsAnything() {
        positions.accept("c", at("e1", 9));
        positions.forget("c");
        assertEquals(Optional.empty(), positions.get("c"));
        assertTrue(positions.accept("c", at("e1", 1)));
    }
}
