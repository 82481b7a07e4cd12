package dev.tandem.it.client;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.tandem.client.PushDevices;
import dev.tandem.client.TandemClient;
import dev.tandem.client.TandemClientException;
import dev.tandem.protocol.ErrorCode;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The Java client's push devices against a real gateway with FCM on (a generated service
 * account; nothing is sent, so Google is never called) and APNs off: an app registers its FCM
 * token over HTTP without connecting, lists it (its user only, never the token), removes it;
 * the gateway's refusals arrive as {@link TandemClientException}s with its code.
 */
class PushDevicesTest {
    @TempDir
    static Path dir;
    private static ProxiedGateway node;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        KeyPairGenerator rsa = KeyPairGenerator.getInstance("RSA");
        rsa.initialize(2048);
        String pem = "-----BEGIN PRIVATE KEY-----\n"
                + Base64.getMimeEncoder().encodeToString(rsa.generateKeyPair().getPrivate().getEncoded())
                + "\n-----END PRIVATE KEY-----\n";
        Path account = dir.resolve("fcm.json");
        Files.writeString(account, new ObjectMapper().createObjectNode().put("type", "service_account")
                .put("project_id", "tandem-test-project").put("client_email", "push@tandem-test-project.iam.example")
                .put("private_key_id", "k1").put("private_key", pem).put("token_uri", "https://oauth2.example/token")
                .toString(), StandardCharsets.UTF_8);
        node = ProxiedGateway.start(Map.of("tandem.documents.db.url", "jdbc:h2:mem:client-push-devices;DB_CLOSE_DELAY=-1",
                "tandem.push.fcm.service-account-file", account.toString()));
        port = node.gateway().port();
    }

    @AfterAll
    static void stop() {
        if (node != null) {
            node.close();
        }
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    private static TandemClientException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return assertInstanceOf(TandemClientException.class, e.getCause());
        }
        throw new AssertionError("the request succeeded");
    }

    @Test
    void anAppRegistersItsFcmTokenListsItAndRemovesIt() throws Exception {
        TestUsers users = new TestUsers("t-push-" + System.nanoTime(), port);
        try (TandemClient alice = users.client("alice", port).build();
             TandemClient bob = users.client("bob", port).build()) {
            PushDevices devices = alice.pushDevices();
            String token = "fcm-token:" + System.nanoTime();

            PushDevices.Device d = await(devices.registerFcm(token, PushDevices.Platform.IOS));
            assertEquals("alice", d.user());
            assertEquals("fcm", d.kind());
            assertEquals(java.util.Optional.of("ios"), d.platform());
            assertEquals(TandemClient.State.CLOSED, alice.state(), "push devices need no connection");

            List<PushDevices.Device> listed = await(devices.list());
            assertEquals(List.of(d.id()), listed.stream().map(PushDevices.Device::id).toList());
            assertEquals(List.of(java.util.Optional.of("ios")), listed.stream().map(PushDevices.Device::platform).toList());
            assertEquals(d.id(), await(devices.registerFcm(token, PushDevices.Platform.IOS)).id(), "same token, same device");
            assertEquals(List.of(d.id()), users.rest("GET", "/api/v1/push/devices?user=alice", null).path("devices")
                    .findValuesAsText("id"), "the gateway holds it");
            assertTrue(await(bob.pushDevices().list()).isEmpty(), "another user sees none of alice's devices");
            assertEquals(ErrorCode.NOT_FOUND, failure(bob.pushDevices().remove(d.id())).code().orElseThrow());

            await(devices.remove(d.id()));
            assertTrue(await(devices.list()).isEmpty());
            assertTrue(users.rest("GET", "/api/v1/push/devices?user=alice", null).path("devices").isEmpty());
        }
    }

    @Test
    void theGatewaysRefusalsArriveWithItsCode() throws Exception {
        TestUsers users = new TestUsers("t-push-" + System.nanoTime(), port);
        try (TandemClient alice = users.client("alice", port).build()) {
            TandemClientException badToken = failure(alice.pushDevices().registerFcm("not a token!"));
            assertEquals(ErrorCode.BAD_REQUEST, badToken.code().orElseThrow());
            assertTrue(badToken.getMessage().contains("fcm token"), badToken.getMessage());

            TandemClientException apnsOff = failure(alice.pushDevices().registerApns("ab".repeat(32), PushDevices.Platform.IOS));
            assertEquals(ErrorCode.BAD_REQUEST, apnsOff.code().orElseThrow(), apnsOff.getMessage());
            assertTrue(apnsOff.getMessage().contains("apns push is not configured"), apnsOff.getMessage());
            assertTrue(await(alice.pushDevices().list()).isEmpty());
        }
        try (TandemClient refused = TandemClient.builder(URI.create("ws://127.0.0.1:" + port + "/ws"))
                .token(() -> "not-a-jwt").build()) {
            assertEquals(ErrorCode.UNAUTHORIZED, failure(refused.pushDevices().list()).code().orElseThrow());
        }
        try (TandemClient noToken = TandemClient.builder(URI.create("ws://127.0.0.1:" + port + "/ws"))
                .token(() -> {
                    throw new IllegalStateException("signed out");
                }).build()) {
            assertTrue(failure(noToken.pushDevices().list()).tokenUnavailable());
        }
    }
}
