/**
 * Firebase Cloud Messaging through its HTTP v1 API: {@link dev.tandem.push.fcm.FcmProvider} sends
 * one message per registration token, authorized with an OAuth2 access token that a Google service
 * account ({@link dev.tandem.push.fcm.ServiceAccount}) obtains by the JWT bearer grant (RFC 7523).
 */
package dev.tandem.push.fcm;
