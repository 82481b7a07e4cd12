package dev.tandem.gateway;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.logging.SimpleFormatter;

/**
 * Everything the JVM's loggers print while started, one line per record as
 * {@code LEVEL logger: message | thrown ...}, for tests that judge what a node logs.
 */
final class CapturedLog extends Handler {
    /** The lines captured so far. */
    final List<String> lines = new CopyOnWriteArrayList<>();
    private final SimpleFormatter formatter = new SimpleFormatter();

    @Override
    public void publish(LogRecord record) {
        StringBuilder sb = new StringBuilder(record.getLevel() + " " + record.getLoggerName() + ": "
                + formatter.formatMessage(record));
        for (Throwable t = record.getThrown(); t != null; t = t.getCause()) {
            sb.append(" | thrown ").append(t);
        }
        lines.add(sb.toString());
    }

    @Override
    public void flush() {
    }

    @Override
    public void close() {
    }

    /** Starts capturing every level from the root logger. */
    void start() {
        setLevel(Level.ALL);
        Logger.getLogger("").addHandler(this);
    }

    /** Stops capturing. */
    void stop() {
        Logger.getLogger("").removeHandler(this);
    }
}
