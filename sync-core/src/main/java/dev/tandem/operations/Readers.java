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
 * Who may read the document a {@code doc.changed} publication carries, judged once per
 * publication: the type's read rules are bound to the version's data and author when the first
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
        Subject subject = document.path("deleted").asBoolean(false) ? Subject.none()
                : new Subject(Optional.of(document.path("createdBy").asText("")), document.path("data"));
        return access.grantees(type, Right.READ, subject);
    }
}
