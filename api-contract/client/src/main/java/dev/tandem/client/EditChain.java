package dev.tandem.client;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The order of the queued edits of each document: the per-document chain. An edit queued while
 * an earlier edit of the same document is unsettled (queued, sending, or waiting in a conflict)
 * names that one as its predecessor ({@code afterOpId}), so the server judges it against what
 * the user had seen after the predecessor, and a user's edits in a row apply one on top of the
 * other. While the predecessor's conflict is open the server holds the edit ({@code held}); the
 * queue keeps it {@code queued} with {@link QueuedOp#heldBy()} naming the conflict and does not
 * send it, nor the edits queued after it, until that conflict is resolved, dismissed or gone.
 *
 * <p>Works on the queue's entries in sequence order; confined to the queue's thread.
 */
final class EditChain {
    private static final int MAX_ENDED = 1_000;

    /** Conflicts this client saw end lately (resolved, stale or given up), oldest first. */
    private final Set<String> ended = Collections.newSetFromMap(new LinkedHashMap<>(16, 0.75f, false) {
        private static final long serialVersionUID = 1L;

        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
            return size() > MAX_ENDED;
        }
    });

    /** The opId a new edit of the document follows: the last unsettled edit of that document, if any. */
    Optional<String> predecessor(Iterable<OpEntry> inOrder, String docType, String docId) {
        String last = null;
        for (OpEntry e : inOrder) {
            if (e.docType.equals(docType) && e.docId.equals(docId)
                    && (e.status.isPending() || e.status == OpStatus.CONFLICT)) {
                last = e.opId;
            }
        }
        return Optional.ofNullable(last);
    }

    /**
     * Holds every queued edit whose predecessor is held: the server could not tell, since a held
     * edit leaves no trace there.
     *
     * @return the entries that were held now
     */
    List<OpEntry> holdFollowers(Iterable<OpEntry> inOrder) {
        Map<String, String> heldBy = new HashMap<>();
        List<OpEntry> changed = new ArrayList<>();
        for (OpEntry e : inOrder) {
            String waiting = e.afterOpId == null ? null : heldBy.get(e.afterOpId);
            if (waiting != null && e.status == OpStatus.QUEUED && !waiting.equals(e.heldBy)) {
                e.heldBy = waiting;
                changed.add(e);
            }
            if (e.heldBy != null && e.status.isPending()) {
                heldBy.put(e.opId, e.heldBy);
            }
        }
        return changed;
    }

    /**
     * The conflict ended (resolved, stale or given up): the edits it held go.
     *
     * @return the entries released
     */
    List<OpEntry> ended(Iterable<OpEntry> inOrder, String conflictId) {
        ended.add(conflictId);
        return release(inOrder, Optional.of(conflictId));
    }

    /**
     * Whether a {@code held} answer naming {@code conflictId} holds the edit: not when this client
     * saw that conflict end meanwhile (the server judged the edit just before the resolution
     * committed), so the edit is sent again at once instead of waiting for a reconnect.
     */
    boolean holds(String conflictId) {
        return !ended.contains(conflictId);
    }

    /**
     * Lets the edits held by {@code conflictId} go (every held edit when it is empty: asking the
     * server again, e.g. after a reconnect).
     *
     * @return the entries released
     */
    List<OpEntry> release(Iterable<OpEntry> inOrder, Optional<String> conflictId) {
        List<OpEntry> changed = new ArrayList<>();
        for (OpEntry e : inOrder) {
            if (e.heldBy != null && conflictId.map(e.heldBy::equals).orElse(true)) {
                e.heldBy = null;
                changed.add(e);
            }
        }
        return changed;
    }

    /**
     * Takes {@code leaving} out of its chain (the application dismissed it): the edits that
     * followed it follow its predecessor instead, and are asked about again.
     *
     * @return the entries that changed
     */
    List<OpEntry> unlink(Iterable<OpEntry> inOrder, OpEntry leaving) {
        List<OpEntry> changed = new ArrayList<>();
        for (OpEntry e : inOrder) {
            if (e != leaving && Objects.equals(e.afterOpId, leaving.opId)) {
                e.afterOpId = leaving.afterOpId;
                e.heldBy = null;
                changed.add(e);
            }
        }
        return changed;
    }
}
