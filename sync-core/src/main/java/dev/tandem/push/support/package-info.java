/**
 * What the push adapters share: P-256 and PEM key handling ({@link dev.tandem.push.support.EcKeys}),
 * compact JWS signing ({@link dev.tandem.push.support.Jws}) and the bounded HTTP exchange that turns
 * a push service's answer into the parts an outcome is made of
 * ({@link dev.tandem.push.support.PushHttp}). Public only so the adapter packages can use them; not
 * an API for the rest of the node.
 */
package dev.tandem.push.support;
