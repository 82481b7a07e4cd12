/**
 * The Apple Push Notification service over HTTP/2 with token-based authentication:
 * {@link dev.tandem.push.apns.ApnsProvider} posts an alert to {@code /3/device/{token}}, signed by a
 * provider token (an ES256 JWT made with the team's {@code .p8} key) renewed well within Apple's
 * hour.
 */
package dev.tandem.push.apns;
