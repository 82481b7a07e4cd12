package dev.tandem.gateway;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TlsTest {

    @Test
    void servesWssWhenAKeyStoreIsConfigured(@TempDir Path dir) throws Exception {
        Path p12 = dir.resolve("server.p12");
        Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
                "-genkeypair", "-alias", "tandem", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost",
                "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-validity", "2", "-storetype", "PKCS12",
                "-keystore", p12.toString(), "-storepass", "changeit", "-keypass", "changeit")
                .redirectErrorStream(true).start();
        assertTrue(keytool.waitFor(60, TimeUnit.SECONDS) && keytool.exitValue() == 0,
                new String(keytool.getInputStream().readAllBytes()));
        try (TestGateway node = TestGateway.start(Map.of(
                "server.tls.private-key.keystore.resource.path", p12.toString(),
                "server.tls.private-key.keystore.passphrase", "changeit",
                "server.tls.private-key.keystore.key.alias", "tandem"))) {
            assertTrue(node.gateway.tls());
            KeyStore trust = KeyStore.getInstance("PKCS12");
            try (var in = java.nio.file.Files.newInputStream(p12)) {
                trust.load(in, "changeit".toCharArray());
            }
            X509Certificate cert = (X509Certificate) trust.getCertificate("tandem");
            KeyStore trusted = KeyStore.getInstance("PKCS12");
            trusted.load(null, null);
            trusted.setCertificateEntry("tandem", cert);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(trusted);
            SSLContext ssl = SSLContext.getInstance("TLS");
            ssl.init(null, tmf.getTrustManagers(), null);
            CompletableFuture<String> first = new CompletableFuture<>();
            try (HttpClient client = HttpClient.newBuilder().sslContext(ssl).build()) {
                WebSocket ws = client.newWebSocketBuilder()
                        .header("Authorization", "Bearer " + TestGateway.token("alice", "acme"))
                        .subprotocols("tandem.v1")
                        .buildAsync(URI.create("wss://localhost:" + node.gateway.port() + "/ws"), new WebSocket.Listener() {
                            @Override
                            public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                                first.complete(data.toString());
                                return null;
                            }
                        }).get(10, TimeUnit.SECONDS);
                String welcome = first.get(10, TimeUnit.SECONDS);
                assertTrue(welcome.contains("\"op\":\"welcome\""), welcome);
                assertEquals("tandem.v1", ws.getSubprotocol());
                ws.abort();
            }
        }
    }
}
