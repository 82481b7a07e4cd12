package dev.tandem.push;

import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.tandem.push.support.EcKeys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Each device goes to the provider of its kind; a kind with no provider is rejected, not an error. */
class PushProvidersTest {
    private static final Notification N = Notification.of("t", "b", Duration.ZERO);

    @Test
    void aDeviceGoesToTheProviderOfItsKind() {
        PushProviders providers = new PushProviders(Optional.of((d, n) -> new PushOutcome.Delivered(201, Optional.of("w"))),
                Optional.of((d, n) -> new PushOutcome.Delivered(200, Optional.of("f"))), Optional.empty());
        String p256dh = EcKeys.base64Url(EcKeys.point((java.security.interfaces.ECPublicKey) EcKeys.generate().getPublic()));
        Device web = Device.WebPush.of("https://fcm.googleapis.com/x", p256dh, "BTBZMqHH6r4Tts7J_aSIgg");
        assertEquals(Optional.of("w"), ((PushOutcome.Delivered) providers.send(web, N)).messageId());
        assertEquals(Optional.of("f"), ((PushOutcome.Delivered) providers.send(new Device.Fcm("t", Device.Platform.WEB), N)).messageId());

        PushOutcome.Rejected off = assertInstanceOf(PushOutcome.Rejected.class,
                providers.send(new Device.Apns("ab".repeat(32), Device.Platform.IOS), N));
        assertEquals(0, off.status());
        assertEquals("rejected", off.label());
        assertTrue(providers.supports(Device.Kind.FCM));
        assertFalse(providers.supports(Device.Kind.APNS));
        assertFalse(PushProviders.none().supports(Device.Kind.WEBPUSH));
    }

    @Test
    void reasonsAreBoundedAndEscapedForLogs() {
        PushOutcome.Rejected r = new PushOutcome.Rejected(400, "line\nbreak " + "x".repeat(500));
        assertFalse(r.reason().contains("\n"));
        assertTrue(r.reason().startsWith("line\\u000abreak"), r.reason());
        assertTrue(r.reason().length() < 220, "cut near " + dev.tandem.telemetry.LogText.MAX + " characters");
    }
}
