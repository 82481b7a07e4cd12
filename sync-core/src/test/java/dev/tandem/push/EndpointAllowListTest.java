package dev.tandem.push;

import java.net.URI;
import java.util.List;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A registration can name only a public push service (and loopback only when development allows it). */
class EndpointAllowListTest {
    private final EndpointAllowList production = EndpointAllowList.publicServices(false);
    private final EndpointAllowList development = EndpointAllowList.publicServices(true);

    @Test
    void thePublicPushServicesPass() {
        for (String url : List.of("https://fcm.googleapis.com/fcm/send/eAbC:APA91b",
                "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABk",
                "https://web.push.apple.com/QGuQyavXutnMH",
                "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAD",
                "https://FCM.GoogleAPIs.com:443/fcm/send/x")) {
            assertTrue(production.allows(URI.create(url)), url);
        }
    }

    @Test
    void otherHostsLookalikesAndInternalAddressesAreRefused() {
        for (String url : List.of("https://evil.example/fcm/send/x",
                "https://fcm.googleapis.com.evil.example/x",
                "https://evilfcm.googleapis.com/x",
                "https://notify.windows.com/w/",          // the wildcard needs a label before the suffix
                "https://evilnotify.windows.com/w/",
                "https://169.254.169.254/latest/meta-data",
                "https://10.0.0.5/x",
                "https://fcm.googleapis.com./x",
                "https://fcm.googleapis.com:8443/x",      // only the default https port
                "http://fcm.googleapis.com/x",            // https only
                "https://user:pw@fcm.googleapis.com/x",
                "https://fcm.googleapis.com/x#frag",
                "ftp://fcm.googleapis.com/x")) {
            assertFalse(production.allows(URI.create(url)), url);
        }
    }

    @Test
    void loopbackPassesOnlyWhenAllowed() {
        for (String url : List.of("http://127.0.0.1:8081/push", "http://localhost:9000/p", "https://127.5.6.7/p",
                "http://[::1]:8080/p")) {
            assertFalse(production.allows(URI.create(url)), url);
            assertTrue(development.allows(URI.create(url)), url);
        }
        for (String url : List.of("http://127.0.0.1.evil.example/p", "http://localhost.evil.example/p", "http://0.0.0.0/p",
                "http://192.168.1.1/p", "file://localhost/etc/passwd")) {
            assertFalse(development.allows(URI.create(url)), url);
        }
    }

    @Test
    void theListIsConfigurableAndMalformedEntriesAreRefused() {
        EndpointAllowList own = new EndpointAllowList(List.of("push.example.com", "*.push.example.net"), false);
        assertTrue(own.allows(URI.create("https://push.example.com/a")));
        assertTrue(own.allows(URI.create("https://eu.push.example.net/a")));
        assertFalse(own.allows(URI.create("https://fcm.googleapis.com/a")));
        assertThrows(IllegalArgumentException.class, () -> new EndpointAllowList(List.of("*"), false));
        assertThrows(IllegalArgumentException.class, () -> new EndpointAllowList(List.of("https://x.example"), false));
        assertThrows(IllegalArgumentException.class, () -> new EndpointAllowList(List.of("*.com.*"), false));
    }
}
