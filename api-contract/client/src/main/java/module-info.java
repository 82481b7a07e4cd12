/**
 * The Java client of Tandem ({@code dev.tandem.client}): reconnect and resume, the inbox,
 * documents and the offline queue, over the JDK's WebSocket.
 */
module dev.tandem.client {
    requires transitive dev.tandem.protocol;
    requires java.net.http;

    exports dev.tandem.client;
}
