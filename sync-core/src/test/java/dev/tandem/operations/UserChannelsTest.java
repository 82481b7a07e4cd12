package dev.tandem.operations;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelKey;
import dev.tandem.channel.ChannelName;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class UserChannelsTest {
    private static final Principal ALICE = new Principal("acme", "alice", Set.of(), Map.of(), Optional.empty());
    private static final Principal ALICE_ELSEWHERE = new Principal("globex", "alice", Set.of(), Map.of(),
            Optional.empty());

    private static ChannelKey channel(String id) {
        return new ChannelKey("acme", new ChannelName("location", List.of(id)));
    }

    @Test
    void aChannelHeldBySeveralSubscriptionsCountsOnceUntilTheLastIsReleased() {
        UserChannels users = new UserChannels(2);
        users.acquire(ALICE, channel("a"));
        users.acquire(ALICE, channel("a"));
        assertEquals(1, users.held(ALICE));
        users.release(ALICE, channel("a"));
        assertEquals(1, users.held(ALICE), "one subscription still holds it");
        users.acquire(ALICE, channel("b"));
        assertEquals(2, users.held(ALICE));
        users.release(ALICE, channel("a"));
        users.release(ALICE, channel("b"));
        assertEquals(0, users.held(ALICE));
        users.release(ALICE, channel("b"));
        assertEquals(0, users.held(ALICE), "releasing what is not held changes nothing");
    }

    @Test
    void aUserMayNotHoldMoreChannelsThanTheLimitButMaySubscribeAgainToOneHeld() {
        UserChannels users = new UserChannels(2);
        users.acquire(ALICE, channel("a"));
        users.acquire(ALICE, channel("b"));
        ProtocolException e = assertThrows(ProtocolException.class, () -> users.acquire(ALICE, channel("c")));
        assertEquals(ErrorCode.LIMIT_EXCEEDED, e.code());
        users.acquire(ALICE, channel("b"));
        assertEquals(2, users.held(ALICE), "nothing counted for the refusal");
        users.release(ALICE, channel("a"));
        users.acquire(ALICE, channel("c"));
        assertEquals(2, users.held(ALICE));
    }

    @Test
    void theSameUserIdInAnotherTenantIsAnotherUser() {
        UserChannels users = new UserChannels(1);
        users.acquire(ALICE, channel("a"));
        users.acquire(ALICE_ELSEWHERE, new ChannelKey("globex", new ChannelName("location", List.of("a"))));
        assertEquals(1, users.held(ALICE));
        assertEquals(1, users.held(ALICE_ELSEWHERE));
    }

    @Test
    void aLimitOfZeroRefusesEveryChannel() {
        UserChannels users = new UserChannels(0);
        assertThrows(ProtocolException.class, () -> users.acquire(ALICE, channel("a")));
        assertEquals(0, users.held(ALICE));
    }
}
