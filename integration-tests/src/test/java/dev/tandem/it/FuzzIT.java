package dev.tandem.it;

import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import dev.tandem.harness.GatewayProcess;
import dev.tandem.harness.Tokens;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A protocol fuzzer against a packaged gateway over real sockets: 100,000+ generated frames
 * (every op in valid shape with mutated values, missing and wrongly typed fields, unknown ops,
 * random text and binary, huge and tiny numbers, deep nesting, long strings, unicode) from
 * several connections. The gateway never answers {@code internal}, never closes with 1011,
 * stays up and ready, and its heap after GC comes back near the baseline.
 */
class FuzzIT {
    private static final int FRAMES = 100_000;
    private static final int CONNECTIONS = 8;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String[] OPS = {"connect", "refresh", "subscribe", "unsubscribe", "publish", "ping", "presence",
            "ack", "doc.get", "doc.update", "sync", "conflict.resolve", "doc.query", "nonsense", ""};

    @Test
    void noGeneratedFrameCausesAnInternalErrorACrashOrALeak() throws Exception {
        String t = "fuzz" + Cluster.run();
        Map<String, String> config = Map.of(
                "tandem.limits.messages-per-second", "1000000",
                "tandem.limits.burst", "1000000",
                "tandem.limits.ephemeral-per-second", "1000000",
                "tandem.connections-per-address", "100000");
        try (GatewayProcess node = GatewayProcess.start("fuzz", config, List.of("-Xmx256m"))) {
            HttpClient http = HttpClient.newHttpClient();
            String token = Tokens.token("fuzzer", t, Tokens.ALL, "service");
            // warm up every path once, then take the baseline
            runFuzz(node, http, token, 2_000, 1);
            long baseline = node.heapAfterGc();
            long started = System.nanoTime();
            Result r = runFuzz(node, http, token, FRAMES, 42);
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);
            assertTrue(r.internal.isEmpty(), "internal errors for frames: " + r.internal);
            assertTrue(r.closes1011.isEmpty(), "closed with 1011 after: " + r.closes1011);
            assertTrue(node.alive(), "the gateway process is alive");
            assertEquals(200, node.readyStatus(), node.health("/health/ready"));
            assertTrue(r.sent.get() >= FRAMES, "sent " + r.sent.get());
            assertTrue(r.answers.get() > FRAMES / 2, "the gateway answered (" + r.answers.get() + " answers; errors "
                    + r.errors + ", " + r.reconnects.get() + " reconnects)");
            Thread.sleep(500);
            long after = node.heapAfterGc();
            System.out.printf("fuzzer: %d frames in %d s over %d connections (%d reconnects), %d answers (%d errors by code %s); "
                            + "heap after GC %d KiB before, %d KiB after%n", r.sent.get(), seconds, CONNECTIONS,
                    r.reconnects.get(), r.answers.get(), r.errors.values().stream().mapToInt(AtomicInteger::get).sum(),
                    r.errors, baseline >> 10, after >> 10);
            assertTrue(after < baseline + (24L << 20), "heap after GC back near its baseline: " + (baseline >> 10)
                    + " KiB before, " + (after >> 10) + " KiB after");
        }
    }

    private record Result(AtomicLong sent, AtomicLong answers, AtomicInteger reconnects, Map<String, AtomicInteger> errors,
                          List<String> internal, List<String> closes1011) {
    }

    private static Result runFuzz(GatewayProcess node, HttpClient http, String token, int frames, long seed)
            throws Exception {
        Result r = new Result(new AtomicLong(), new AtomicLong(), new AtomicInteger(), new ConcurrentHashMap<>(),
                new CopyOnWriteArrayList<>(), new CopyOnWriteArrayList<>());
        List<Thread> threads = new ArrayList<>();
        List<WebSocket> open = new CopyOnWriteArrayList<>();
        for (int c = 0; c < CONNECTIONS; c++) {
            long s = seed * 31 + c;
            threads.add(Thread.ofVirtual().start(() -> fuzzOne(node, http, token, frames / CONNECTIONS, new Random(s), r)
                    .ifPresent(open::add)));
        }
        for (Thread th : threads) {
            th.join();
        }
        // let the answers still on their way arrive before closing
        long last = -1;
        while (r.answers().get() != last) {
            last = r.answers().get();
            Thread.sleep(1000);
        }
        for (WebSocket ws : open) {
            ws.sendClose(1000, "done").orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null).join();
        }
        return r;
    }

    private static java.util.Optional<WebSocket> fuzzOne(GatewayProcess node, HttpClient http, String token, int frames,
                                                         Random rnd, Result r) {
        Map<Long, String> recent = new ConcurrentHashMap<>();
        Map<Long, CompletableFuture<Void>> barriers = new ConcurrentHashMap<>();
        WebSocket ws = null;
        java.util.concurrent.atomic.AtomicBoolean dead = new java.util.concurrent.atomic.AtomicBoolean();
        int sent = 0;
        int opened = 0;
        while (sent < frames) {
            try {
                if (ws == null || dead.get() || ws.isOutputClosed() || ws.isInputClosed()) {
                    if (ws != null) {
                        ws.abort();
                    }
                    if (opened++ > 0) {
                        r.reconnects().incrementAndGet();
                    }
                    dead = new java.util.concurrent.atomic.AtomicBoolean();
                    ws = open(node, http, token, recent, r, dead, barriers);
                }
                long id = sent + 10;
                if (rnd.nextInt(50) == 0) {
                    byte[] b = new byte[rnd.nextInt(200)];
                    rnd.nextBytes(b);
                    ws.sendBinary(ByteBuffer.wrap(b), true).get(10, TimeUnit.SECONDS);
                } else {
                    String frame = Frames.frame(rnd, id);
                    if (recent.size() > 5_000) {
                        recent.clear();
                    }
                    recent.put(id, frame.length() > 300 ? frame.substring(0, 300) + "…" : frame);
                    ws.sendText(frame, true).get(10, TimeUnit.SECONDS);
                }
                sent++;
                r.sent().incrementAndGet();
                if (sent % 200 == 0) {
                    // flow control: the server is never more than ~200 frames behind, so a close
                    // (1009 after an oversized frame) loses few frames in flight
                    long barrier = 1_000_000_000L + sent;
                    CompletableFuture<Void> answered = new CompletableFuture<>();
                    barriers.put(barrier, answered);
                    ws.sendText("{\"op\":\"ping\",\"id\":" + barrier + "}", true).get(10, TimeUnit.SECONDS);
                    answered.get(10, TimeUnit.SECONDS);
                    barriers.remove(barrier);
                }
            } catch (Exception e) {
                // the server closed this socket (e.g. 1009 for an oversized frame): a new one follows
                barriers.clear();
                if (ws != null) {
                    ws.abort();
                }
                ws = null;
            }
        }
        return java.util.Optional.ofNullable(ws);
    }

    private static WebSocket open(GatewayProcess node, HttpClient http, String token, Map<Long, String> recent, Result r,
                                  java.util.concurrent.atomic.AtomicBoolean dead,
                                  Map<Long, CompletableFuture<Void>> barriers) throws Exception {
        StringBuilder partial = new StringBuilder();
        return http.newWebSocketBuilder().header("Authorization", "Bearer " + token).buildAsync(node.ws(),
                new WebSocket.Listener() {
                    @Override
                    public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                        partial.append(data);
                        if (last) {
                            judge(partial.toString(), recent, r, barriers);
                            partial.setLength(0);
                        }
                        w.request(1);
                        return null;
                    }

                    @Override
                    public void onError(WebSocket w, Throwable error) {
                        dead.set(true);
                    }

                    @Override
                    public CompletionStage<?> onClose(WebSocket w, int code, String reason) {
                        dead.set(true);
                        if (code == 1011) {
                            r.closes1011().add(reason + " after " + recent.values().stream().limit(3).toList());
                        }
                        return null;
                    }
                }).get(10, TimeUnit.SECONDS);
    }

    private static void judge(String text, Map<Long, String> recent, Result r,
                              Map<Long, CompletableFuture<Void>> barriers) {
        JsonNode f;
        try {
            f = JSON.readTree(text);
        } catch (Exception e) {
            r.internal().add("non-JSON from the server: " + text);
            return;
        }
        String op = f.path("op").asText();
        CompletableFuture<Void> barrier = barriers.get(f.path("id").asLong(-1));
        if (barrier != null && op.equals("reply")) {
            barrier.complete(null);
            return;
        }
        if (op.equals("reply") || op.equals("error")) {
            r.answers().incrementAndGet();
        }
        if (op.equals("error")) {
            String code = f.path("code").asText();
            r.errors().computeIfAbsent(code, k -> new AtomicInteger()).incrementAndGet();
            if (code.equals("internal") && r.internal().size() < 20) {
                r.internal().add(f + " <- " + recent.getOrDefault(f.path("id").asLong(-1), "(frame without id)"));
            }
        }
    }

    /** The frame generator. */
    static final class Frames {
        private Frames() {
        }

        static String frame(Random rnd, long id) {
            if (rnd.nextInt(5000) == 0) {
                // over max-frame-bytes: the server closes with 1009 and the fuzzer reconnects
                return "{\"op\":\"ping\",\"id\":" + id + ",\"x\":\"" + "a".repeat(70_000) + "\"}";
            }
            int kind = rnd.nextInt(100);
            if (kind < 70) {
                return validShape(rnd, id, true);
            } else if (kind < 80) {
                return validShape(rnd, id, false);
            } else if (kind < 85) {
                return randomText(rnd);
            } else if (kind < 90) {
                String v = validShape(rnd, id, true);
                return v.substring(0, rnd.nextInt(Math.max(1, v.length())));
            } else if (kind < 93) {
                return nest(rnd.nextInt(3000) + 1, rnd.nextBoolean());
            } else if (kind < 96) {
                return value(rnd, 0);
            } else {
                return "{\"op\":\"publish\",\"id\":" + id + ",\"channel\":\"doc:note:a\",\"type\":\"t\",\"ephemeral\":true,"
                        + "\"data\":" + nest(rnd.nextInt(400) + 1, rnd.nextBoolean()) + "}";
            }
        }

        /** Every field an op takes, with values mostly right (mutate=false) or anything (mutate=true). */
        private static String validShape(Random rnd, long id, boolean mutate) {
            String op = OPS[rnd.nextInt(OPS.length)];
            StringBuilder b = new StringBuilder("{\"op\":").append(str(op));
            if (rnd.nextInt(10) > 0) {
                b.append(",\"id\":").append(rnd.nextInt(20) == 0 && mutate ? value(rnd, 0) : String.valueOf(id));
            }
            for (String field : fields(op)) {
                if (mutate && rnd.nextInt(8) == 0) {
                    continue; // missing
                }
                b.append(',').append(str(field)).append(':').append(mutate && rnd.nextInt(3) == 0 ? value(rnd, 0)
                        : plausible(rnd, field));
            }
            if (mutate && rnd.nextInt(5) == 0) {
                b.append(',').append(str(randomString(rnd, 20))).append(':').append(value(rnd, 0));
            }
            return b.append('}').toString();
        }

        private static List<String> fields(String op) {
            return switch (op) {
                case "connect", "refresh" -> List.of("token");
                case "subscribe" -> List.of("channel", "since", "presence");
                case "unsubscribe" -> List.of("channel");
                case "publish" -> List.of("channel", "type", "data", "ephemeral");
                case "presence" -> List.of("channel", "state");
                case "ack" -> List.of("channel", "offset", "epoch");
                case "doc.get" -> List.of("docType", "docId");
                case "doc.update" -> List.of("docType", "docId", "baseVersion", "opId", "data", "patch");
                case "sync" -> List.of("ops");
                case "conflict.resolve" -> List.of("conflictId", "resolution", "data");
                case "doc.query" -> List.of("docType", "where", "limit");
                default -> List.of("channel", "data");
            };
        }

        private static String plausible(Random rnd, String field) {
            return switch (field) {
                case "token" -> str(rnd.nextBoolean() ? "eyJhbGciOiJIUzI1NiJ9.e30.x" : randomString(rnd, 50));
                case "channel" -> str(new String[] {"tenant", "location:wh-1", "workspace:w1", "doc:note:a", "user:fuzzer",
                        "user:other", "project:p", "nope:x", "location:", "location:a:b", ":", "tenant:x",
                        "location:" + "x".repeat(200), "doc:note:\u00e9\u6f22"}[rnd.nextInt(14)]);
                case "since" -> "{\"epoch\":" + str(rnd.nextBoolean() ? "abc" : randomString(rnd, 12)) + ",\"offset\":"
                        + number(rnd) + "}";
                case "presence", "ephemeral" -> String.valueOf(rnd.nextBoolean());
                case "type", "docType" -> str(rnd.nextBoolean() ? "note" : randomString(rnd, 30));
                case "docId", "conflictId", "epoch" -> str(rnd.nextBoolean() ? "a-1" : randomString(rnd, 40));
                case "offset", "baseVersion", "limit" -> number(rnd);
                case "opId" -> str(rnd.nextBoolean() ? "c" + rnd.nextInt(5) + ":" + rnd.nextInt(1000) : randomString(rnd, 20));
                case "patch" -> "{\"set\":" + object(rnd, 1) + ",\"unset\":[" + str(randomString(rnd, 5)) + "],\"inc\":{\"n\":"
                        + number(rnd) + "}" + (rnd.nextInt(10) == 0 ? ",\"delete\":true" : "") + "}";
                case "resolution" -> str(new String[] {"accept_local", "accept_server", "merge", "x"}[rnd.nextInt(4)]);
                case "ops" -> "[" + validShape(rnd, 1, true).replace("\"op\":", "\"was\":") + "]";
                case "where" -> object(rnd, 1);
                default -> object(rnd, 2);
            };
        }

        private static String value(Random rnd, int depth) {
            return switch (rnd.nextInt(depth > 3 ? 6 : 8)) {
                case 0 -> "null";
                case 1 -> String.valueOf(rnd.nextBoolean());
                case 2 -> number(rnd);
                case 3 -> str(randomString(rnd, rnd.nextInt(10) == 0 ? 20_000 : 40));
                case 4 -> str(unicode(rnd));
                case 5 -> "\"\"";
                case 6 -> "[" + value(rnd, depth + 1) + "," + value(rnd, depth + 1) + "]";
                default -> object(rnd, depth + 1);
            };
        }

        private static String object(Random rnd, int depth) {
            StringBuilder b = new StringBuilder("{");
            int n = rnd.nextInt(4);
            for (int i = 0; i < n; i++) {
                b.append(i > 0 ? "," : "").append(str(rnd.nextBoolean() ? "n" : randomString(rnd, 8))).append(':')
                        .append(value(rnd, depth + 1));
            }
            return b.append('}').toString();
        }

        private static String number(Random rnd) {
            return new String[] {"0", "-1", "1", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
                    "1e308", "1e400", "-1e400", "1.5", "0.0000000001", "1E-400", "123456789012345678901234567890",
                    String.valueOf(rnd.nextLong()), String.valueOf(rnd.nextDouble()), "-0",
                    "1" + "0".repeat(rnd.nextInt(2000))}[rnd.nextInt(17)];
        }

        private static String nest(int depth, boolean arrays) {
            String open = arrays ? "[" : "{\"a\":";
            String close = arrays ? "]" : "}";
            return open.repeat(depth) + "1" + close.repeat(depth);
        }

        private static String randomString(Random rnd, int max) {
            int n = rnd.nextInt(max + 1);
            StringBuilder b = new StringBuilder(n);
            for (int i = 0; i < n; i++) {
                b.append((char) (32 + rnd.nextInt(95)));
            }
            return b.toString();
        }

        private static String unicode(Random rnd) {
            String[] samples = {"\u00e9\u00e8", "\u6f22\u5b57", "\ud83d\ude00\ud83d\udc4d", "\u202e\u0645\u0631\u062d\u0628\u0627",
                    "\u0000\u0001\u001f", "\ufeff", "\ud800", "\udfff", "a\u0301", "\u200b\u200d"};
            return samples[rnd.nextInt(samples.length)].repeat(1 + rnd.nextInt(20));
        }

        private static String randomText(Random rnd) {
            int n = rnd.nextInt(300);
            StringBuilder b = new StringBuilder(n);
            for (int i = 0; i < n; i++) {
                b.append((char) rnd.nextInt(0xD7FF));
            }
            return b.toString();
        }

        /** A JSON string literal (control characters and lone surrogates escaped). */
        private static String str(String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char c : s.toCharArray()) {
                if (c == '"' || c == '\\') {
                    b.append('\\').append(c);
                } else if (c < 0x20 || Character.isSurrogate(c)) {
                    b.append(String.format("\\u%04x", (int) c));
                } else {
                    b.append(c);
                }
            }
            return b.append('"').toString();
        }
    }
}
