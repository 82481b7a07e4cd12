import type { StoredOp } from './storage.js';

const MAX_ENDED = 1000;

/**
 * The order of the queued edits of each document: the per-document chain. An edit queued while
 * an earlier edit of the same document is unsettled (queued, sending, or waiting in a conflict)
 * names that one as its predecessor (`afterOpId`), so the server judges it against what the user
 * had seen after the predecessor, and a user's edits in a row apply one on top of the other.
 * While the predecessor's conflict is open the server holds the edit (`held`); the queue keeps it
 * `queued` with `heldBy` naming the conflict and does not send it, nor the edits queued after it,
 * until that conflict is resolved, dismissed or gone.
 *
 * The methods take the queue's operations in `seq` order and change them in place; each returns
 * the operations it changed, for the queue to store and announce.
 */
export class EditChain {
  /** Conflicts this client saw end lately (resolved, stale or given up), oldest first. */
  private readonly endedConflicts = new Set<string>();

  /** The opId a new edit of the document follows: the last unsettled edit of that document, if any. */
  predecessor(inOrder: Iterable<StoredOp>, docType: string, docId: string): string | undefined {
    let last: string | undefined;
    for (const op of inOrder) {
      if (op.docType === docType && op.docId === docId
          && (op.status === 'queued' || op.status === 'sending' || op.status === 'conflict')) {
        last = op.opId;
      }
    }
    return last;
  }

  /** Holds every queued edit whose predecessor is held: the server could not tell (a held edit leaves no trace there). */
  holdFollowers(inOrder: Iterable<StoredOp>): StoredOp[] {
    const heldBy = new Map<string, string>();
    const changed: StoredOp[] = [];
    for (const op of inOrder) {
      const waiting = op.afterOpId === undefined ? undefined : heldBy.get(op.afterOpId);
      if (waiting !== undefined && op.status === 'queued' && op.heldBy !== waiting) {
        op.heldBy = waiting;
        changed.push(op);
      }
      if (op.heldBy !== undefined && (op.status === 'queued' || op.status === 'sending')) {
        heldBy.set(op.opId, op.heldBy);
      }
    }
    return changed;
  }

  /** The conflict ended (resolved, stale or given up): the edits it held go. */
  ended(inOrder: Iterable<StoredOp>, conflictId: string): StoredOp[] {
    this.endedConflicts.add(conflictId);
    if (this.endedConflicts.size > MAX_ENDED) {
      this.endedConflicts.delete(this.endedConflicts.values().next().value as string);
    }
    return this.release(inOrder, conflictId);
  }

  /**
   * Whether a `held` answer naming `conflictId` holds the edit: not when this client saw that
   * conflict end meanwhile (the server judged the edit just before the resolution committed), so
   * the edit is sent again at once instead of waiting for a reconnect.
   */
  holds(conflictId: string): boolean {
    return !this.endedConflicts.has(conflictId);
  }

  /** Lets the edits held by `conflictId` go (every held edit when undefined: asking the server again). */
  release(inOrder: Iterable<StoredOp>, conflictId?: string): StoredOp[] {
    const changed: StoredOp[] = [];
    for (const op of inOrder) {
      if (op.heldBy !== undefined && (conflictId === undefined || op.heldBy === conflictId)) {
        delete op.heldBy;
        changed.push(op);
      }
    }
    return changed;
  }

  /** Takes `leaving` out of its chain (dismissed): the edits that followed it follow its predecessor instead. */
  unlink(inOrder: Iterable<StoredOp>, leaving: StoredOp): StoredOp[] {
    const changed: StoredOp[] = [];
    for (const op of inOrder) {
      if (op !== leaving && op.afterOpId === leaving.opId) {
        if (leaving.afterOpId === undefined) {
          delete op.afterOpId;
        } else {
          op.afterOpId = leaving.afterOpId;
        }
        delete op.heldBy;
        changed.push(op);
      }
    }
    return changed;
  }
}
