/**
 * The document port: versioned JSON documents, per-type merge policies, manual conflicts and
 * idempotent offline replay.
 *
 * <p>{@link dev.tandem.document.Documents} is the port the operations layer (and the Kafka
 * ingest) call; {@link dev.tandem.document.DocOp} is one client operation,
 * {@link dev.tandem.document.OpResult} its outcome, {@link dev.tandem.document.ConflictRecord} a
 * manual conflict and {@link dev.tandem.document.DocumentListener} the after-commit notification
 * that publishes accepted changes; {@link dev.tandem.document.DocumentAccess} says who may read,
 * create, write, delete and resolve per type, and {@link dev.tandem.document.WriteGuard} is how
 * the caller judges a write inside its transaction. The adapter (H2 standalone, PostgreSQL cluster) lives in the
 * {@code conflict} module; both pass the conformance suite of this package's test-jar.
 *
 * <p>Policies per document type are configuration, under the documents node:
 * <pre>
 * types:
 *   default:                     # applies to every type not listed (built-in values shown)
 *     merge: true                # field-level three-way merge of disjoint fields
 *     strategy: last-write-wins  # overlapping fields: last-write-wins, server-wins, client-wins, manual
 *     counters: []               # fields whose {@code inc} deltas always commute
 *     invariants: []             # e.g. "quantity &gt;= 0" (operators &gt;= &gt; &lt;= &lt; == !=)
 *     channels: []               # extra channels, e.g. "location:{locationId}" from a field
 *   stock_level:
 *     counters: [quantity]
 *     invariants: ["quantity &gt;= 0"]
 * </pre>
 */
package dev.tandem.document;
