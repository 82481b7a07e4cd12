package dev.tandem.queue.redis;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.Test;
import org.redisson.client.RedisTimeoutException;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RedisCallsTest {
    @Test
    void aBurstOfFailuresIsLoggedALineEachAndOnlyTheFirstWithItsStackTrace() {
        Logger jul = Logger.getLogger(RedisCalls.class.getName());
        List<LogRecord> records = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        jul.addHandler(capture);
        try {
            String what = "burst-" + System.nanoTime();
            for (int i = 0; i < 5; i++) {
                int n = i;
                ProtocolException e = assertThrows(ProtocolException.class, () -> RedisCalls.call(what, () -> {
                    throw new RedisTimeoutException("command " + n + " still hasn't been written\nsecond line");
                }));
                assertEquals(ErrorCode.UNAVAILABLE, e.code());
            }
            List<LogRecord> mine = records.stream().filter(r -> r.getMessage().contains(what)).toList();
            assertEquals(5, mine.size(), "a line per failure");
            assertNotNull(mine.getFirst().getThrown(), "the first carries its stack trace");
            for (LogRecord r : mine.subList(1, 5)) {
                assertNull(r.getThrown(), "no stack trace again within the minute: " + r.getMessage());
                assertTrue(r.getMessage().contains("still hasn't been written"), r.getMessage());
                assertTrue(!r.getMessage().contains("\n"), "the cause's text is escaped: " + r.getMessage());
            }
        } finally {
            jul.removeHandler(capture);
        }
    }
}
