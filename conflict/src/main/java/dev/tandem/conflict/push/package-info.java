/**
 * The push registry and send queue ({@link dev.tandem.push.PushStore}) in the documents
 * database: {@link dev.tandem.conflict.push.SqlPushStore}.
 */
package dev.tandem.conflict.push;
