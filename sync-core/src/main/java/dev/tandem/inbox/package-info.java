/**
 * User inboxes ({@link dev.tandem.inbox.Inbox}): the messages of a user's {@code user:{id}}
 * channel kept until the user acknowledges them or they expire; and the in-memory adapter.
 */
package dev.tandem.inbox;
