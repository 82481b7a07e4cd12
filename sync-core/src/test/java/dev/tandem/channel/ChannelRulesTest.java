package dev.tandem.channel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import dev.tandem.auth.Principal;
import dev.tandem.channel.ChannelRules.Action;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import io.helidon.common.media.type.MediaTypes;
import io.helidon.config.Config;
import io.helidon.config.ConfigSources;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChannelRulesTest {
    private final ChannelRules rules = ChannelRules.create();

    private static Principal principal(String tenant, String user, Map<String, List<String>> scopes, String... roles) {
        return new Principal(tenant, user, Set.of(roles), scopes, Optional.empty());
    }

    private static final Principal ALICE = principal("acme", "alice",
            Map.of("locations", List.of("wh-1", "wh-2"), "workspaces", List.of("ws-1")));
    private static final Principal EVERYWHERE = principal("acme", "root", Map.of("locations", List.of("*")));
    private static final Principal NOBODY = principal("acme", "carol", Map.of());

    private static ErrorCode refused(Runnable r) {
        return assertThrows(ProtocolException.class, r::run).code();
    }

    private static Config yaml(String yaml) {
        return Config.just(ConfigSources.create(yaml, MediaTypes.create("application/x-yaml")));
    }

    private static Config flat(Map<String, String> entries) {
        return Config.just(ConfigSources.create(entries));
    }

    // ------------------------------------------------------------ defaults

    @Test
    void keysShareTheNamespacesNamesInsteadOfTheParsedCopies() {
        // every idle connection holds the key of each channel it subscribed to
        ChannelKey a = rules.resolve("acme", new String("tenant"));
        ChannelKey b = rules.resolve("globex", new String("tenant"));
        assertSame(a.name(), b.name(), "a namespace without id segments has one name");
        ChannelKey c = rules.resolve("acme", new String("location:wh-1"));
        ChannelKey d = rules.resolve("acme", new String("location:wh-2"));
        assertSame(c.name().namespace(), d.name().namespace());
        assertEquals(new ChannelName("location", List.of("wh-1")), c.name());
    }

    @Test
    void anyPrincipalOfTheTenantMaySubscribeToTheTenantChannel() {
        ChannelKey key = rules.authorize(NOBODY, "tenant", Action.SUBSCRIBE);
        assertEquals(new ChannelKey("acme", ChannelName.parse("tenant").orElseThrow()), key);
    }

    @Test
    void clientsMayNotPublishToTheTenantChannelByDefault() {
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> rules.authorize(ALICE, "tenant", Action.PUBLISH)));
    }

    @Test
    void aUserMaySubscribeToTheirOwnUserChannel() {
        ChannelKey key = rules.authorize(ALICE, "user:alice", Action.SUBSCRIBE);
        assertEquals("acme/user:alice", key.toString());
    }

    @Test
    void aUserMayNotSubscribeToAnotherUsersChannel() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> rules.authorize(ALICE, "user:bob", Action.SUBSCRIBE));
        assertEquals(ErrorCode.FORBIDDEN, e.code());
        assertTrue(e.getMessage().contains("user:bob"), e.getMessage());
    }

    @Test
    void aUserChannelIsNotMatchedByPrefixOrCase() {
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> rules.authorize(ALICE, "user:alice2", Action.SUBSCRIBE)));
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> rules.authorize(ALICE, "user:Alice", Action.SUBSCRIBE)));
    }

    @Test
    void clientsMayNotPublishToUserChannelsEvenTheirOwn() {
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> rules.authorize(ALICE, "user:alice", Action.PUBLISH)));
    }

    @Test
    void locationsAreLimitedToTheIdsOfTheLocationsClaim() {
        assertEquals("acme/location:wh-1", rules.authorize(ALICE, "location:wh-1", Action.SUBSCRIBE).toString());
        assertEquals("acme/location:wh-2", rules.authorize(ALICE, "location:wh-2", Action.SUBSCRIBE).toString());
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> rules.authorize(ALICE, "location:wh-3", Action.SUBSCRIBE)));
    }

    @Test
    void aLocationsClaimOfStarGrantsEveryLocation() {
        assertEquals("acme/location:anywhere", rules.authorize(EVERYWHERE, "location:anywhere", Action.SUBSCRIBE)
                .toString());
    }

    @Test
    void withoutALocationsClaimNoLocationIsAllowed() {
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> rules.authorize(NOBODY, "location:wh-1", Action.SUBSCRIBE)));
    }

    @Test
    void workspacesAllowSubscribeAndPublishToClaimedIdsOnly() {
        rules.authorize(ALICE, "workspace:ws-1", Action.SUBSCRIBE);
        rules.authorize(ALICE, "workspace:ws-1", Action.PUBLISH);
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> rules.authorize(ALICE, "workspace:ws-2", Action.PUBLISH)));
    }

    @Test
    void docChannelsNeedExactlyTwoSegments() {
        ChannelKey key = rules.authorize(NOBODY, "doc:stock_level:A-1@wh-7", Action.SUBSCRIBE);
        assertEquals(List.of("stock_level", "A-1@wh-7"), key.name().segments());
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(NOBODY, "doc:stock_level", Action.SUBSCRIBE)));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(NOBODY, "doc", Action.SUBSCRIBE)));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(NOBODY, "doc:a:b:c", Action.SUBSCRIBE)));
    }

    @Test
    void docChannelsAcceptOnlyEphemeralClientPublications() {
        Namespace doc = rules.namespace("doc").orElseThrow();
        assertTrue(doc.ephemeralOnly());
        rules.authorize(NOBODY, "doc:note:n-1", Action.PUBLISH);
    }

    @Test
    void everyNamespaceChecksItsSegmentCount() {
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(NOBODY, "tenant:x", Action.SUBSCRIBE)));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(ALICE, "user", Action.SUBSCRIBE)));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(ALICE, "user:alice:x", Action.SUBSCRIBE)));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(ALICE, "location", Action.SUBSCRIBE)));
    }

    @Test
    void anUnknownNamespaceIsAnUnknownChannel() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> rules.authorize(EVERYWHERE, "warehouse:wh-1", Action.SUBSCRIBE));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, e.code());
        assertTrue(e.getMessage().contains("warehouse"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "user:", "a::b", "location:wh 1", "location:wh\u00001", "Location:wh-1"})
    void aMalformedNameIsAnUnknownChannel(String name) {
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.authorize(EVERYWHERE, name, Action.SUBSCRIBE)));
    }

    @Test
    void theErrorMessageOfAMalformedNameHasNoControlCharactersAndIsShort() {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> rules.authorize(EVERYWHERE, "location:\u0000\n\r" + "x".repeat(500), Action.SUBSCRIBE));
        assertFalse(e.getMessage().chars().anyMatch(Character::isISOControl), e.getMessage());
        assertTrue(e.getMessage().length() < 200, e.getMessage());
    }

    // ------------------------------------------------------------ tenants

    @Test
    void keysAreAlwaysScopedToThePrincipalsTenant() {
        Principal acme = principal("acme", "alice", Map.of());
        Principal globex = principal("globex", "alice", Map.of());
        ChannelKey a = rules.authorize(acme, "tenant", Action.SUBSCRIBE);
        ChannelKey g = rules.authorize(globex, "tenant", Action.SUBSCRIBE);
        assertEquals("acme", a.tenant());
        assertEquals("globex", g.tenant());
        assertEquals(a.name(), g.name());
        assertNotEquals(a, g);
        assertNotEquals(rules.authorize(acme, "user:alice", Action.SUBSCRIBE),
                rules.authorize(globex, "user:alice", Action.SUBSCRIBE));
    }

    @ParameterizedTest
    @ValueSource(strings = {"globex/location:wh-1", "globex/tenant", "globex:location:wh-1", "tenant:globex",
            "globex"})
    void aNameCannotReachIntoAnotherTenant(String name) {
        ProtocolException e = assertThrows(ProtocolException.class,
                () -> rules.authorize(EVERYWHERE, name, Action.SUBSCRIBE));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, e.code());
    }

    @Test
    void resolveScopesToTheGivenTenantWithoutCheckingRights() {
        ChannelKey key = rules.resolve("acme", "user:bob");
        assertEquals("acme/user:bob", key.toString());
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> rules.resolve("acme", "nope:x")));
    }

    // ------------------------------------------------------------ configuration

    @Test
    void withoutConfigurationTheDefaultsApply() {
        ChannelRules configured = ChannelRules.create(flat(Map.of("unrelated", "x")));
        for (Map.Entry<String, Namespace> e : ChannelRules.defaults().entrySet()) {
            assertEquals(e.getValue(), configured.namespace(e.getKey()).orElseThrow());
        }
    }

    @Test
    void configurationOverridesOneKeyOfABuiltInNamespaceAndKeepsTheOthers() {
        ChannelRules configured = ChannelRules.create(flat(Map.of("namespaces.location.subscribe", "any")));
        assertEquals("acme/location:wh-9", configured.authorize(NOBODY, "location:wh-9", Action.SUBSCRIBE).toString());
        Namespace location = configured.namespace("location").orElseThrow();
        Namespace builtIn = ChannelRules.defaults().get("location");
        assertInstanceOf(Access.Any.class, location.subscribe());
        assertEquals(builtIn.publish(), location.publish());
        assertEquals(builtIn.segments(), location.segments());
        assertEquals(builtIn.historySize(), location.historySize());
        assertEquals(builtIn.historyTtl(), location.historyTtl());
        // and the other namespaces are untouched
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> configured.authorize(ALICE, "user:bob", Action.SUBSCRIBE)));
    }

    @Test
    void batchingIsOffByDefaultAndOnWithAMaxDelay() {
        assertEquals(Optional.empty(), ChannelRules.create().namespace("tenant").orElseThrow().batch());
        ChannelRules configured = ChannelRules.create(yaml("""
                namespaces:
                  ticker:
                    batch-max-delay: PT0.005S
                    batch-max-size: 32
                  tenant:
                    batch-max-delay: PT0.02S
                """));
        assertEquals(Optional.of(new Namespace.Batch(Duration.ofMillis(5), 32)),
                configured.namespace("ticker").orElseThrow().batch());
        assertEquals(Optional.of(new Namespace.Batch(Duration.ofMillis(20), 64)),
                configured.namespace("tenant").orElseThrow().batch(), "the size defaults to 64");
        assertEquals(Optional.empty(), configured.namespace("user").orElseThrow().batch());
    }

    @Test
    void aBatchSizeWithoutDelayOrADelayOutOfRangeIsRefusedNamingTheKey() {
        IllegalArgumentException noDelay = assertThrows(IllegalArgumentException.class, () -> ChannelRules.create(yaml("""
                namespaces:
                  ticker:
                    batch-max-size: 32
                """)));
        assertTrue(noDelay.getMessage().contains("tandem.channels.namespaces.ticker.batch-max-size"), noDelay.getMessage());
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class, () -> ChannelRules.create(yaml("""
                namespaces:
                  ticker:
                    batch-max-delay: PT5S
                """)));
        assertTrue(tooLong.getMessage().contains("tandem.channels.namespaces.ticker"), tooLong.getMessage());
        assertTrue(tooLong.getMessage().contains("batch-max-delay"), tooLong.getMessage());
    }

    @Test
    void configurationAddsNamespacesWithEveryKey() {
        ChannelRules configured = ChannelRules.create(yaml("""
                namespaces:
                  board:
                    segments: 2
                    subscribe: role:viewer
                    publish: claim:boards
                    ephemeral-only: true
                    presence: true
                    join-leave: true
                    history-size: 7
                    history-ttl: PT5M
                """));
        Namespace board = configured.namespace("board").orElseThrow();
        assertEquals(new Namespace("board", 2, new Access.Role("viewer"), new Access.Claim("boards"), true, true,
                true, 7, Duration.ofMinutes(5)), board);

        // a claim rule matches the whole id of a multi-segment name
        Principal viewer = principal("acme", "vic", Map.of("boards", List.of("b1:x")), "viewer");
        assertEquals("acme/board:b1:x", configured.authorize(viewer, "board:b1:x", Action.SUBSCRIBE).toString());
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> configured.authorize(NOBODY, "board:b1:x", Action.SUBSCRIBE)));
        assertEquals(ErrorCode.UNKNOWN_CHANNEL, refused(() -> configured.authorize(viewer, "board:b1", Action.SUBSCRIBE)));
        configured.authorize(viewer, "board:b1:x", Action.PUBLISH);
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> configured.authorize(viewer, "board:b1:y", Action.PUBLISH)));
        // the built-ins are still there
        configured.authorize(ALICE, "user:alice", Action.SUBSCRIBE);
    }

    @Test
    void anAddedNamespaceDefaultsToOneSegmentAnySubscribeNoPublish() {
        ChannelRules configured = ChannelRules.create(flat(Map.of("namespaces.room.history-size", "3")));
        Namespace room = configured.namespace("room").orElseThrow();
        assertEquals(1, room.segments());
        assertInstanceOf(Access.Any.class, room.subscribe());
        assertInstanceOf(Access.None.class, room.publish());
        assertFalse(room.ephemeralOnly());
        assertEquals(3, room.historySize());
        configured.authorize(NOBODY, "room:r1", Action.SUBSCRIBE);
        assertEquals(ErrorCode.FORBIDDEN, refused(() -> configured.authorize(NOBODY, "room:r1", Action.PUBLISH)));
    }

    @Test
    void accessRulesAreParsedCaseInsensitivelyKeepingTheClaimName() {
        ChannelRules configured = ChannelRules.create(flat(Map.of(
                "namespaces.a.subscribe", " NONE ",
                "namespaces.b.subscribe", "Self",
                "namespaces.c.subscribe", "CLAIM:Sites")));
        assertInstanceOf(Access.None.class, configured.namespace("a").orElseThrow().subscribe());
        assertInstanceOf(Access.Self.class, configured.namespace("b").orElseThrow().subscribe());
        assertEquals(new Access.Claim("Sites"), configured.namespace("c").orElseThrow().subscribe());
    }

    @Test
    void anInvalidAccessRuleIsRejectedNamingTheNamespaceAndKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChannelRules.create(flat(Map.of("namespaces.location.subscribe", "everybody"))));
        assertTrue(e.getMessage().contains("namespaces.location.subscribe"), e.getMessage());
        assertTrue(e.getMessage().contains("everybody"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> ChannelRules.create(flat(Map.of("namespaces.room.publish", "claim:"))));
        assertTrue(e.getMessage().contains("namespaces.room.publish"), e.getMessage());
    }

    @Test
    void invalidNumbersAndDurationsAreRejectedNamingTheKey() {
        for (String[] bad : new String[][] {
                {"segments", "two"}, {"segments", "5"}, {"segments", "-1"},
                {"history-size", "-1"}, {"history-size", "lots"},
                {"history-ttl", "an hour"}, {"history-ttl", "-PT1H"},
                {"presence", "perhaps"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> ChannelRules.create(flat(Map.of("namespaces.room." + bad[0], bad[1]))),
                    () -> bad[0] + "=" + bad[1] + " was accepted");
            assertTrue(e.getMessage().contains("namespaces.room"), e.getMessage());
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
    }

    @Test
    void booleansAcceptTheUsualSpellings() {
        ChannelRules configured = ChannelRules.create(flat(Map.of(
                "namespaces.a.presence", "yes", "namespaces.b.presence", "off", "namespaces.c.presence", "TRUE")));
        assertTrue(configured.namespace("a").orElseThrow().presence());
        assertFalse(configured.namespace("b").orElseThrow().presence());
        assertTrue(configured.namespace("c").orElseThrow().presence());
    }

    @Test
    void namespaceOfAKeyFromAnUnknownNamespaceIsAnError() {
        ChannelKey foreign = new ChannelKey("acme", ChannelName.parse("nope:x").orElseThrow());
        assertThrows(IllegalStateException.class, () -> rules.namespaceOf(foreign));
    }

    @Test
    void principalsScopeClaimsAndExpiry() {
        assertTrue(ALICE.inScope("locations", "wh-1"));
        assertFalse(ALICE.inScope("locations", "wh-3"));
        assertFalse(ALICE.inScope("projects", "p"));
        assertTrue(EVERYWHERE.inScope("locations", "whatever"));
        java.time.Instant t = java.time.Instant.parse("2030-01-01T00:00:00Z");
        Principal expiring = new Principal("acme", "u", Set.of(), Map.of(), Optional.of(t));
        assertFalse(expiring.expiredAt(t.minusMillis(1)));
        assertTrue(expiring.expiredAt(t));
        assertFalse(NOBODY.expiredAt(t));
    }

    @Test
    void deltasAreOnForTenantLocationAndDocByDefaultAndConfigurablePerNamespace() {
        Map<String, Namespace> d = ChannelRules.defaults();
        for (String name : List.of("tenant", "location", "doc")) {
            assertTrue(d.get(name).allowsDelta(Namespace.FOSSIL), name);
        }
        for (String name : List.of("user", "workspace", "project")) {
            assertFalse(d.get(name).allowsDelta(Namespace.FOSSIL), name);
        }
        ChannelRules configured = ChannelRules.create(yaml("""
                namespaces:
                  location:
                    delta: []
                  workspace:
                    delta: [fossil]
                  board:
                    subscribe: any
                """));
        assertFalse(configured.namespace("location").orElseThrow().allowsDelta(Namespace.FOSSIL), "turned off");
        assertTrue(configured.namespace("workspace").orElseThrow().allowsDelta(Namespace.FOSSIL), "turned on");
        assertFalse(configured.namespace("board").orElseThrow().allowsDelta(Namespace.FOSSIL), "off for new ones");
        assertTrue(configured.namespace("tenant").orElseThrow().allowsDelta(Namespace.FOSSIL), "others untouched");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ChannelRules.create(yaml("""
                namespaces:
                  tenant:
                    delta: [xdelta]
                """)));
        assertTrue(e.getMessage().contains("tandem.channels.namespaces.tenant") && e.getMessage().contains("xdelta"),
                e.getMessage());
    }
}
