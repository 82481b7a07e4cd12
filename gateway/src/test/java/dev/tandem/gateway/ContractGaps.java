package dev.tandem.gateway;

import java.util.List;
import java.util.regex.Pattern;

/**
 * Where the api-contract documents are known to lag behind the code, reported to the lead for
 * api-contract (this module may not edit it, and the code that sends these fields is sync-core's).
 * A violation listed here is tolerated only while the document still produces it: once the
 * document is fixed the error no longer occurs and the entry is dead (delete it then). Nothing
 * else is tolerated.
 */
final class ContractGaps {
    /**
     * A tolerated violation: a subject (a frame's {@code op}, or {@code METHOD /path} of a REST
     * response) matching {@code subject} whose error message contains {@code error}.
     */
    private record Gap(Pattern subject, String error, String fix) {
        Gap(String subject, String error, String fix) {
            this(Pattern.compile(subject), error, fix);
        }
    }

    private static final List<Gap> GAPS = List.of(
            new Gap("subscribed", "the contract has no server frame with op 'subscribed'",
                    "AsyncAPI: the SSE stream's subscribe answer (SSE only, not a ServerFrame of the codec) needs an "
                            + "`sse` channel of its own with its frames"));

    private ContractGaps() {
    }

    /** The errors of a server frame that are not known gaps of the document. */
    static List<String> serverFrame(String frame, List<String> errors) {
        return errors.isEmpty() ? errors : filter(op(frame), errors);
    }

    /** The errors of a REST response that are not known gaps of the document. */
    static List<String> restResponse(String method, String path, List<String> errors) {
        int q = path.indexOf('?');
        return errors.isEmpty() ? errors : filter(method + " " + (q < 0 ? path : path.substring(0, q)), errors);
    }

    private static List<String> filter(String subject, List<String> errors) {
        return errors.stream()
                .filter(e -> GAPS.stream().noneMatch(g -> g.subject().matcher(subject).matches() && e.contains(g.error())))
                .toList();
    }

    private static String op(String frame) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(frame).path("op").asText("");
        } catch (Exception e) {
            return "";
        }
    }
}
