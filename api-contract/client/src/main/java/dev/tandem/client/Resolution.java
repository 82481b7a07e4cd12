package dev.tandem.client;

/** How a manual conflict is resolved ({@code conflict.resolve}). */
public enum Resolution {
    /** The author's change wins. */
    ACCEPT_LOCAL("accept_local"),
    /** The author's change, with the conflicted fields taken from the server. */
    ACCEPT_SERVER("accept_server"),
    /** The application's merged data (required with this resolution). */
    MERGE("merge");

    private final String wire;

    Resolution(String wire) {
        this.wire = wire;
    }

    /** The resolution as it travels on the wire. */
    public String wire() {
        return wire;
    }
}
