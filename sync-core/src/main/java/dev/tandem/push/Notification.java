package dev.tandem.push;

import java.net.URI;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.ProtocolException;

/**
 * What a user is shown: a title and a body, optionally a URL to open and a tag under which a newer
 * notification replaces an older one, with how long the push service may hold it for an offline
 * device and how urgently it should wake one. Sizes are bounded so that every provider's payload
 * limit (about 4 KB) can be met; a value out of bounds is {@code bad_request}.
 *
 * @param title   shown in bold; 1..{@value #MAX_TITLE} characters
 * @param body    the text; 0..{@value #MAX_BODY} characters
 * @param url     what a click opens: an absolute http(s) URL or a path starting with {@code /}
 * @param tag     replaces an earlier notification with the same tag (1..{@value #MAX_TAG} characters
 *                of {@code A-Z a-z 0-9 . _ : -})
 * @param ttl     how long an undelivered notification is kept, 0..{@link #MAX_TTL} (0: now or never)
 * @param urgency how urgently it should reach the device
 */
public record Notification(String title, String body, Optional<String> url, Optional<String> tag, Duration ttl,
                           Urgency urgency) {
    /** Longest title, in characters. */
    public static final int MAX_TITLE = 200;
    /** Longest body, in characters. */
    public static final int MAX_BODY = 1000;
    /** Longest URL, in characters. */
    public static final int MAX_URL = 1000;
    /** Longest tag, in characters. */
    public static final int MAX_TAG = 64;
    /** Longest time to live: four weeks, what FCM and Web Push services keep at most. */
    public static final Duration MAX_TTL = Duration.ofDays(28);

    private static final Pattern TAG = Pattern.compile("[A-Za-z0-9._:\\-]+");

    /** Checks every field. */
    public Notification {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(tag, "tag");
        Objects.requireNonNull(urgency, "urgency");
        if (title == null || title.isBlank() || title.length() > MAX_TITLE || hasControl(title, false)) {
            throw bad("title must be 1.." + MAX_TITLE + " characters without control characters");
        }
        if (body == null || body.length() > MAX_BODY || hasControl(body, true)) {
            throw bad("body must be at most " + MAX_BODY + " characters without control characters other than line breaks");
        }
        url.ifPresent(Notification::checkUrl);
        if (tag.isPresent() && (tag.get().length() > MAX_TAG || !TAG.matcher(tag.get()).matches())) {
            throw bad("tag must be 1.." + MAX_TAG + " characters of A-Z a-z 0-9 . _ : -");
        }
        if (ttl == null || ttl.isNegative() || ttl.compareTo(MAX_TTL) > 0) {
            throw bad("ttl must be between 0 and " + MAX_TTL.toDays() + " days");
        }
    }

    /** A notification with no URL or tag, the given time to live and normal urgency. */
    public static Notification of(String title, String body, Duration ttl) {
        return new Notification(title, body, Optional.empty(), Optional.empty(), ttl, Urgency.NORMAL);
    }

    /**
     * How urgently a notification should reach a device (RFC 8030's {@code Urgency}); a device
     * saving its battery may hold back the low ones.
     */
    public enum Urgency {
        /** On power and Wi-Fi only. */
        VERY_LOW,
        /** On power or Wi-Fi. */
        LOW,
        /** Unless the battery is low. */
        NORMAL,
        /** Even on a low battery. */
        HIGH;

        /** The wire name, as RFC 8030 spells it ({@code very-low}, {@code low}, {@code normal}, {@code high}). */
        public String wire() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }

        /** The urgency with this wire name. */
        public static Urgency fromWire(String wire) {
            for (Urgency u : values()) {
                if (u.wire().equals(wire)) {
                    return u;
                }
            }
            throw bad("urgency must be very-low, low, normal or high");
        }
    }

    private static void checkUrl(String url) {
        if (url.isEmpty() || url.length() > MAX_URL || hasControl(url, false) || url.indexOf(' ') >= 0) {
            throw bad("url must be 1.." + MAX_URL + " characters without spaces");
        }
        if (url.startsWith("/") && !url.startsWith("//")) {
            return;
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (java.net.URISyntaxException e) {
            throw bad("url must be an absolute http(s) URL or a path starting with /");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("https") || scheme.equals("http")) || uri.getHost() == null) {
            throw bad("url must be an absolute http(s) URL or a path starting with /");
        }
    }

    private static boolean hasControl(String s, boolean lineBreaksAllowed) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((Character.isISOControl(c) && !(lineBreaksAllowed && c == '\n')) || c == '\u2028' || c == '\u2029') {
                return true;
            }
        }
        return false;
    }

    private static ProtocolException bad(String message) {
        return new ProtocolException(ErrorCode.BAD_REQUEST, message);
    }
}
