/**
 * Web Push, the standard path to browsers: {@link dev.tandem.push.webpush.WebPushProvider} sends a
 * notification to a Push API subscription as RFC 8030 describes (TTL, Urgency, Topic), encrypted
 * for the subscriber as RFC 8291 requires ({@code aes128gcm}, RFC 8188) and signed with the node's
 * VAPID key (RFC 8292); {@link dev.tandem.push.webpush.VapidKeys} is that key pair, its file and the
 * public key browsers subscribe with.
 */
package dev.tandem.push.webpush;
