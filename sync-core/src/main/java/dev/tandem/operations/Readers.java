package dev.tandem.operations;

import java.util.Optional;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;

import dev.tandem.auth.Principal;
import dev.tandem.document.DocumentAccess;
import dev.tandem.document.DocumentAccess.Right;
import dev.tandem.document.DocumentAccess.Subject;
import dev.tandem.hub.Publication;

/**
 * Who may read the document a {@code doc.changed} or {@code doc.deleted} publication carries (a
 * deletion as the data it deleted, so only those who could read the document learn of it),
 * judged once per publication: the type's read rules are bound to the version's data and author when the first
 * subscriber of the publication is asked, and the subscribers after it (fan-out hands every one
 * the same publication) are only tested against that outcome. The last few publications are
 * remembered by identity.
 */
final class Readers {
    private static final int REMEMBERED = 32;

    private final DocumentAccess access;
    private final Publication[] publications = new Publication[REMEMBERED];
    @SuppressWarnings("unchecked")
    private final Predicate<Principal>[] outcomes = new Predicate[REMEMBERED];
    private int next;

    Readers(DocumentAccess access) {
        this.access = access;
    }

    /** Whether the principal may read the version the publication carries. */
    boolean admit(Principal who, Publication p) {
        return of(p).test(who);
    }

    private Predicate<Principal> of(Publication p) {
        synchronized (this) {
            for (int i = 0; i < REMEMBERED; i++) {
                if (publications[i] == p) {
                    return outcomes[i];
                }
            }
        }
        Predicate<Principal> judged = judge(p.data());
        synchronized (this) {
            publications[next] = p;
            outcomes[next] = judged;
            next = (next + 1) % REMEMBERED;
        }
        return judged;
    }

    private Predicate<Principal> judge(JsonNode document) {
        String type = document.path("docType").asText("");
        Optional<String> author = Optional.of(document.path("createdBy").asText(""));
        Subject subject;
        if (!document.path("deleted").asBoolean(false)) {
            subject = new Subject(author, document.path("data"));
        } else if (document.path(Publisher.BEFORE).isObject()) {
            subject = new Subject(author, document.path(Publisher.BEFORE));
        } else {
            subject = Subject.none(); // a tombstone over a tombstone: nothing was readable
        }
        return access.grantees(type, Right.READ, subject);
    }
}
