/**
 * Backend hooks over HTTP (what Centrifugo calls proxies): {@link dev.tandem.hooks.HttpHooks}
 * implements the operations layer's {@link dev.tandem.operations.Hooks} by calling the
 * application's backend on connect, subscribe, client publish and document write, each call
 * signed ({@link dev.tandem.hooks.Signature}), bounded in time and concurrency, with a configured
 * behaviour when the backend does not answer; and {@link dev.tandem.hooks.Webhooks}, which tells
 * the backend about presence changes and document changes after the fact.
 */
package dev.tandem.hooks;
