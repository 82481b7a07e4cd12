package dev.tandem.push;

import java.util.Objects;
import java.util.Optional;

/**
 * The configured provider of each kind, and the one place a device is routed to its provider. A
 * device of a kind that has no provider on this node gets {@link PushOutcome.Rejected} (status 0),
 * so a registration made while a provider was configured does not fail later sends.
 *
 * @param webPush the Web Push provider, when on
 * @param fcm     the FCM provider, when configured
 * @param apns    the APNs provider, when configured
 */
public record PushProviders(Optional<PushProvider<Device.WebPush>> webPush, Optional<PushProvider<Device.Fcm>> fcm,
                            Optional<PushProvider<Device.Apns>> apns) implements PushProvider<Device> {
    /** Checks the fields. */
    public PushProviders {
        Objects.requireNonNull(webPush, "webPush");
        Objects.requireNonNull(fcm, "fcm");
        Objects.requireNonNull(apns, "apns");
    }

    /** No provider at all. */
    public static PushProviders none() {
        return new PushProviders(Optional.empty(), Optional.empty(), Optional.empty());
    }

    /** Whether devices of this kind can be reached from this node. */
    public boolean supports(Device.Kind kind) {
        return switch (kind) {
            case WEBPUSH -> webPush.isPresent();
            case FCM -> fcm.isPresent();
            case APNS -> apns.isPresent();
        };
    }

    @Override
    public PushOutcome send(Device device, Notification notification) {
        return switch (device) {
            case Device.WebPush w -> webPush.map(p -> p.send(w, notification)).orElseGet(() -> off(device));
            case Device.Fcm f -> fcm.map(p -> p.send(f, notification)).orElseGet(() -> off(device));
            case Device.Apns a -> apns.map(p -> p.send(a, notification)).orElseGet(() -> off(device));
        };
    }

    private static PushOutcome off(Device device) {
        return new PushOutcome.Rejected(0, device.kind().wire() + " push is not configured on this node");
    }
}
