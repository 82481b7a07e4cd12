package dev.tandem.gateway;

import io.helidon.logging.common.LogConfig;

/**
 * Starts a gateway node from the configuration (see {@link GatewayConfig}) and drains it on
 * SIGTERM/SIGINT.
 */
public final class Main {
    private Main() {
    }

    /**
     * Runs the gateway until the process is stopped.
     *
     * @param args ignored; configure with system properties, environment or a file
     */
    public static void main(String[] args) {
        LogConfig.configureRuntime();
        Gateway gateway;
        try {
            gateway = Gateway.start(GatewayConfig.load());
        } catch (RuntimeException e) {
            // client libraries (Redis, the database pool) may have started non-daemon threads:
            // exit explicitly, so an orchestrator restarts us instead of waiting on a hung node
            System.err.println("Tandem could not start: " + e.getMessage());
            System.getLogger(Main.class.getName()).log(System.Logger.Level.DEBUG, "start-up failure", e);
            System.exit(1);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(gateway::stop, "tandem-shutdown"));
        System.out.println(banner(gateway));
    }

    /** The ready message: where to connect, and where the demo board is when the node serves it. */
    static String banner(Gateway gateway) {
        String host = "localhost:" + gateway.port();
        String text = "Tandem is running: " + (gateway.tls() ? "wss" : "ws") + "://" + host
                + "/ws  (health: /health, metrics: /metrics, token: ./tandem token --user U --tenant T)";
        if (gateway.servesDemo()) {
            text += "\nDemo board: " + (gateway.tls() ? "https" : "http") + "://" + host
                    + "/demo/  (open it twice, e.g. /demo/?user=alice and /demo/?user=bob)";
        }
        return text;
    }
}
