package dev.tandem.gateway;

/**
 * A node could not start: says what is wrong and how to fix it, in words meant for the person
 * who configured it. {@link Main} prints the message and exits non-zero, so a container
 * crash-loops with the reason in its log instead of hanging un-ready.
 */
public final class StartupException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StartupException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Runs one start-up step, turning its failure into a {@link StartupException} with the
     * step's explanation and the deepest cause's message.
     */
    static <T> T step(String what, String fix, java.util.function.Supplier<T> step) {
        try {
            return step.get();
        } catch (StartupException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new StartupException(what + ": " + rootMessage(e) + "\n  fix: " + fix, e);
        }
    }

    private static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        // the deepest cause says what happened (connection refused, ...); wrappers repeat it
        String m = root.getMessage() == null ? root.getClass().getSimpleName() : root.getMessage().strip();
        int newline = m.indexOf('\n');
        if (newline > 0) {
            m = m.substring(0, newline);
        }
        return m.length() > 400 ? m.substring(0, 400) + "..." : m;
    }
}
