package dev.tandem.push;

/**
 * Sends one notification to one device of its kind. Implementations are thread-safe and block the
 * calling thread for at most their configured request time (run them on virtual threads). They
 * never throw for anything the service or the network does: every such event is an outcome.
 *
 * @param <D> the kind of device this provider reaches
 */
public interface PushProvider<D extends Device> {
    /**
     * Sends the notification.
     *
     * @return what became of it
     */
    PushOutcome send(D device, Notification notification);
}
