package dev.tandem.push;

import java.net.URI;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.push.support.EcKeys;

/**
 * Where a user can be reached by push: a browser's Web Push subscription, or an app's FCM or APNs
 * token. The records check their fields when they are made, so a registration with a malformed
 * key or token is refused with {@code bad_request} before it is stored; the error messages never
 * repeat the value.
 */
public sealed interface Device permits Device.WebPush, Device.Fcm, Device.Apns {
    /** Longest Web Push endpoint URL accepted, in characters. */
    int MAX_ENDPOINT_CHARS = 2048;
    /** Longest FCM registration token accepted, in characters. */
    int MAX_FCM_TOKEN_CHARS = 4096;

    /** The kind of device, which names its provider. */
    Kind kind();

    /** The three kinds, by their wire names ({@code webpush}, {@code fcm}, {@code apns}). */
    enum Kind {
        /** A browser's Push API subscription (RFC 8030). */
        WEBPUSH,
        /** A Firebase Cloud Messaging registration token. */
        FCM,
        /** An Apple Push Notification service device token. */
        APNS;

        /** The wire name. */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The kind with this wire name. */
        public static Kind fromWire(String wire) {
            for (Kind k : values()) {
                if (k.wire().equals(wire)) {
                    return k;
                }
            }
            throw bad("kind must be webpush, fcm or apns");
        }
    }

    /** The platform an app token belongs to, by wire name ({@code android}, {@code ios}, …). */
    enum Platform {
        /** An Android app. */
        ANDROID,
        /** An iPhone or iPad app. */
        IOS,
        /** A macOS app. */
        MACOS,
        /** A web app using the FCM JavaScript SDK. */
        WEB;

        /** The wire name. */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** The platform with this wire name. */
        public static Platform fromWire(String wire) {
            for (Platform p : values()) {
                if (p.wire().equals(wire)) {
                    return p;
                }
            }
            throw bad("platform must be android, ios, macos or web");
        }
    }

    /**
     * A Web Push subscription as the browser's {@code PushSubscription.toJSON()} gives it.
     *
     * @param endpoint the push service URL to POST to (its host is checked against the
     *                 {@link EndpointAllowList} at registration and again at every send)
     * @param p256dh   the user agent's P-256 public key, base64url of the uncompressed point
     * @param auth     the 16-byte authentication secret, base64url
     */
    record WebPush(URI endpoint, String p256dh, String auth) implements Device {
        /** Checks that the endpoint is an absolute URL and that both keys decode as RFC 8291 requires. */
        public WebPush {
            Objects.requireNonNull(endpoint, "endpoint");
            if (!endpoint.isAbsolute() || endpoint.getHost() == null || endpoint.toString().length() > MAX_ENDPOINT_CHARS) {
                throw bad("endpoint must be an absolute URL of at most " + MAX_ENDPOINT_CHARS + " characters");
            }
            try {
                EcKeys.publicKey(EcKeys.base64Url(Objects.requireNonNull(p256dh, "p256dh")));
            } catch (IllegalArgumentException e) {
                throw bad("keys.p256dh must be a P-256 public key (base64url, 65-byte uncompressed point)");
            }
            byte[] secret;
            try {
                secret = EcKeys.base64Url(Objects.requireNonNull(auth, "auth"));
            } catch (IllegalArgumentException e) {
                throw bad("keys.auth must be base64url");
            }
            if (secret.length != 16) {
                throw bad("keys.auth must be 16 bytes (base64url)");
            }
        }

        /** Makes a subscription from the endpoint's text. */
        public static WebPush of(String endpoint, String p256dh, String auth) {
            if (endpoint == null || endpoint.length() > MAX_ENDPOINT_CHARS) {
                throw bad("endpoint must be an absolute URL of at most " + MAX_ENDPOINT_CHARS + " characters");
            }
            try {
                return new WebPush(new URI(endpoint), p256dh, auth);
            } catch (java.net.URISyntaxException e) {
                throw bad("endpoint is not a URL");
            }
        }

        @Override
        public Kind kind() {
            return Kind.WEBPUSH;
        }

        /** The user agent's public key bytes (65, uncompressed point). */
        public byte[] publicKeyBytes() {
            return EcKeys.base64Url(p256dh);
        }

        /** The authentication secret bytes (16). */
        public byte[] authSecret() {
            return EcKeys.base64Url(auth);
        }

        @Override
        public String toString() {
            // the endpoint carries the subscription's capability token: never print it whole
            return "WebPush[host=" + endpoint.getHost() + "]";
        }
    }

    /**
     * An FCM registration token.
     *
     * @param token    the registration token the app got from the FCM SDK
     * @param platform android, ios or web
     */
    record Fcm(String token, Platform platform) implements Device {
        private static final Pattern TOKEN = Pattern.compile("[A-Za-z0-9_:\\-.]+");

        /** Checks the token's characters and length and the platform. */
        public Fcm {
            Objects.requireNonNull(platform, "platform");
            if (token == null || token.isEmpty() || token.length() > MAX_FCM_TOKEN_CHARS || !TOKEN.matcher(token).matches()) {
                throw bad("an fcm token is 1.." + MAX_FCM_TOKEN_CHARS + " characters of A-Z a-z 0-9 _ : - .");
            }
            if (platform == Platform.MACOS) {
                throw bad("an fcm device's platform is android, ios or web");
            }
        }

        @Override
        public Kind kind() {
            return Kind.FCM;
        }

        @Override
        public String toString() {
            return "Fcm[platform=" + platform.wire() + "]";
        }
    }

    /**
     * An APNs device token.
     *
     * @param token    the device token in hexadecimal (kept in lower case)
     * @param platform ios or macos
     */
    record Apns(String token, Platform platform) implements Device {
        private static final Pattern TOKEN = Pattern.compile("([0-9a-f]{2}){32,100}");

        /** Checks that the token is 32 to 100 bytes of hexadecimal and the platform is Apple's. */
        public Apns {
            Objects.requireNonNull(platform, "platform");
            token = token == null ? "" : token.toLowerCase(Locale.ROOT);
            if (!TOKEN.matcher(token).matches()) {
                throw bad("an apns token is 64 to 200 hexadecimal digits");
            }
            if (platform != Platform.IOS && platform != Platform.MACOS) {
                throw bad("an apns device's platform is ios or macos");
            }
        }

        @Override
        public Kind kind() {
            return Kind.APNS;
        }

        @Override
        public String toString() {
            return "Apns[platform=" + platform.wire() + "]";
        }
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
