package dev.tandem.operations;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

import dev.tandem.auth.Principal;
import dev.tandem.broker.Draft;
import dev.tandem.channel.ChannelKey;
import dev.tandem.document.WriteGuard;

/**
 * Where an application's backend can take part in operations: asked after the layer's own
 * checks passed, before anything happens. Every method has a default that allows and changes
 * nothing, so an implementation overrides what it needs. Implementations are called on the
 * caller's thread and are responsible for their own timeouts and failure behaviour.
 */
public interface Hooks {
    /** No hooks: everything the layer allows is allowed as it is. */
    Hooks NONE = new Hooks() {
        @Override
        public boolean judgesDocumentWrites() {
            return false;
        }
    };

    /**
     * A token was verified for a connection (on connect and on every {@code refresh}).
     *
     * @return the principal to use (possibly with more claims or roles) and channels to subscribe
     *         the connection to at once
     * @throws dev.tandem.protocol.ProtocolException to refuse ({@code UNAUTHORIZED} or
     *         {@code FORBIDDEN}), or {@code UNAVAILABLE} when the backend cannot say (the client
     *         may try again)
     */
    default Admitted connect(Principal principal) {
        return new Admitted(principal, List.of());
    }

    /**
     * A connection as its backend admitted it.
     *
     * @param principal who it is, possibly with claims or roles the backend added
     * @param channels  channel names (as a client writes them) to subscribe it to at once; each
     *                  still passes the channel rules and the {@link #subscribe} hook
     */
    record Admitted(Principal principal, List<String> channels) {
        /** Validates and copies the fields. */
        public Admitted {
            Objects.requireNonNull(principal, "principal");
            channels = List.copyOf(channels);
        }
    }

    /**
     * A client wants to subscribe (the channel's rules allow it).
     *
     * @return why not, or empty to allow
     */
    default Optional<String> subscribe(Principal principal, ChannelKey channel) {
        return Optional.empty();
    }

    /**
     * A client publishes (the channel's rules allow it).
     *
     * @return the draft to publish (possibly rewritten)
     * @throws dev.tandem.protocol.ProtocolException to refuse
     */
    default Draft publish(Principal principal, ChannelKey channel, Draft draft) {
        return draft;
    }

    /**
     * Whether {@link #documentWrite} may ask someone (a network call): the store then asks it
     * outside its transactions, with no row lock or pooled connection held (see
     * {@link WriteGuard#blocking()}). True unless an implementation knows its answer is
     * immediate; false means the type's rules and this hook are judged under the row lock.
     */
    default boolean judgesDocumentWrites() {
        return true;
    }

    /**
     * A document write passed the type's access rules and is about to commit (asked before the
     * write's transaction, again if the document moved and the outcome changed; see
     * {@link WriteGuard}).
     *
     * @return the refusal the author receives as {@code rejected} with its code and reason, or
     *         empty to allow
     */
    default Optional<WriteGuard.Refusal> documentWrite(WriteGuard.Write write) {
        return Optional.empty();
    }
}
