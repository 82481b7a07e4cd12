package dev.tandem.push;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.push.support.EcKeys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Malformed devices and notifications are bad_request, with messages that never repeat the value. */
class DeviceAndNotificationTest {
    private static final String P256DH = EcKeys.base64Url(EcKeys.point(
            (java.security.interfaces.ECPublicKey) EcKeys.generate().getPublic()));
    private static final String AUTH = "BTBZMqHH6r4Tts7J_aSIgg";

    @Test
    void aBrowserSubscriptionIsAccepted() {
        Device.WebPush d = Device.WebPush.of("https://fcm.googleapis.com/fcm/send/abc", P256DH, AUTH);
        assertEquals(Device.Kind.WEBPUSH, d.kind());
        assertEquals(65, d.publicKeyBytes().length);
        assertEquals(16, d.authSecret().length);
        assertFalse(d.toString().contains("abc"), "the endpoint's capability path is not printed");
    }

    @Test
    void aKeyThatIsNotAPointOnTheCurveIsRefused() {
        byte[] offCurve = EcKeys.base64Url(P256DH);
        offCurve[64] ^= 1;
        badRequest(() -> Device.WebPush.of("https://fcm.googleapis.com/x", EcKeys.base64Url(offCurve), AUTH));
        badRequest(() -> Device.WebPush.of("https://fcm.googleapis.com/x", "not+base64url", AUTH));
        badRequest(() -> Device.WebPush.of("https://fcm.googleapis.com/x", P256DH, "c2hvcnQ"));
        badRequest(() -> Device.WebPush.of("not a url", P256DH, AUTH));
        badRequest(() -> Device.WebPush.of("/relative", P256DH, AUTH));
        badRequest(() -> Device.WebPush.of("https://x.example/" + "a".repeat(Device.MAX_ENDPOINT_CHARS), P256DH, AUTH));
    }

    @Test
    void appTokensAreCheckedByKind() {
        assertEquals("fcm", new Device.Fcm("dXyZ:APA91b-_.x", Device.Platform.ANDROID).kind().wire());
        Device.Apns apns = new Device.Apns("AB".repeat(32), Device.Platform.IOS);
        assertEquals("ab".repeat(32), apns.token());
        badRequest(() -> new Device.Fcm("has space", Device.Platform.ANDROID));
        badRequest(() -> new Device.Fcm("", Device.Platform.WEB));
        badRequest(() -> new Device.Fcm("t", Device.Platform.MACOS));
        badRequest(() -> new Device.Apns("zz".repeat(32), Device.Platform.IOS));
        badRequest(() -> new Device.Apns("ab".repeat(31), Device.Platform.IOS));
        badRequest(() -> new Device.Apns("ab".repeat(32), Device.Platform.ANDROID));
        ProtocolException e = badRequest(() -> new Device.Fcm("secret token value", Device.Platform.ANDROID));
        assertFalse(e.getMessage().contains("secret token value"));
        assertEquals(Device.Platform.IOS, Device.Platform.fromWire("ios"));
        badRequest(() -> Device.Kind.fromWire("sms"));
    }

    @Test
    void aNotificationIsBoundedAndItsUrlIsHttpOrAPath() {
        Notification n = new Notification("Stock low", "A-1\nat wh-7", Optional.of("/demo/#A-1"), Optional.of("stock:A-1"),
                Duration.ofHours(1), Notification.Urgency.fromWire("very-low"));
        assertEquals("very-low", n.urgency().wire());
        new Notification("t", "", Optional.of("https://app.example/x"), Optional.empty(), Notification.MAX_TTL,
                Notification.Urgency.HIGH);
        badRequest(() -> Notification.of("", "b", Duration.ZERO));
        badRequest(() -> Notification.of("a".repeat(Notification.MAX_TITLE + 1), "b", Duration.ZERO));
        badRequest(() -> Notification.of("t\u001b[31m", "b", Duration.ZERO));
        badRequest(() -> Notification.of("t", "b".repeat(Notification.MAX_BODY + 1), Duration.ZERO));
        badRequest(() -> Notification.of("t", "b", Duration.ofDays(29)));
        badRequest(() -> Notification.of("t", "b", Duration.ofSeconds(-1)));
        for (String url : new String[] {"javascript:alert(1)", "//evil.example/x", "data:text/html,x", "ftp://x.example/"}) {
            badRequest(() -> new Notification("t", "b", Optional.of(url), Optional.empty(), Duration.ZERO,
                    Notification.Urgency.NORMAL));
        }
        badRequest(() -> new Notification("t", "b", Optional.empty(), Optional.of("has space"), Duration.ZERO,
                Notification.Urgency.NORMAL));
        badRequest(() -> Notification.Urgency.fromWire("urgent"));
        assertTrue(URI.create("/demo/#A-1").getPath().startsWith("/"));
    }

    private static ProtocolException badRequest(Runnable r) {
        ProtocolException e = assertThrows(ProtocolException.class, r::run);
        assertEquals(ErrorCode.BAD_REQUEST, e.code());
        return e;
    }
}
