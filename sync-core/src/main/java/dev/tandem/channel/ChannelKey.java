package dev.tandem.channel;

import java.util.Objects;

/**
 * A channel scoped to a tenant: the identity under which subscriptions, offsets and history
 * are kept. Two tenants using the same {@link ChannelName} have two different keys, which is
 * what makes tenant isolation hold by construction. Only {@link ChannelRules} creates keys
 * from client input.
 *
 * @param tenant the tenant id
 * @param name   the channel name within the tenant
 */
public record ChannelKey(String tenant, ChannelName name) {
    /** Validates the fields. */
    public ChannelKey {
        Objects.requireNonNull(tenant, "tenant");
        Objects.requireNonNull(name, "name");
        if (!ChannelName.isValidId(tenant)) {
            throw new IllegalArgumentException("invalid tenant id");
        }
    }

    /** The namespace of the channel. */
    public String namespace() {
        return name.namespace();
    }

    /** {@code tenant/name}, for logs and storage keys. */
    @Override
    public String toString() {
        return tenant + "/" + name;
    }
}
