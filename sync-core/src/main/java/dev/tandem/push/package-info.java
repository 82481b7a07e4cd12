/**
 * Push notifications to users who are not connected: the ports and the policy around them.
 *
 * <p>A {@link dev.tandem.push.Device} is where a user can be reached (a Web Push subscription, an
 * FCM registration token or an APNs device token); a {@link dev.tandem.push.Notification} is what
 * they are shown; a {@link dev.tandem.push.PushProvider} sends one notification to one device and
 * answers a {@link dev.tandem.push.PushOutcome} (delivered, gone, retry later, rejected), which the
 * caller acts on: remove the device, schedule a retry with the {@link dev.tandem.push.RetryPolicy},
 * or record the refusal. {@link dev.tandem.push.PushProviders} routes a device to the provider of
 * its kind. {@link dev.tandem.push.EndpointAllowList} keeps a registration from making the node
 * call an address of the registrant's choosing. {@link dev.tandem.push.PushSettings} is the
 * {@code tandem.push} configuration with its defaults.
 *
 * <p>The adapters live in sub-packages: {@code webpush} (RFC 8030, 8291, 8292), {@code fcm} (FCM
 * HTTP v1) and {@code apns} (APNs over HTTP/2 with token authentication); {@code support} holds
 * the key, JWT and HTTP helpers they share.
 */
package dev.tandem.push;
