package dev.tandem.operations;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.function.Consumer;

import dev.tandem.auth.Principal;
import dev.tandem.auth.Revocations;
import dev.tandem.channel.ChannelName;
import dev.tandem.protocol.ErrorCode;
import dev.tandem.protocol.FrameCodec;
import dev.tandem.protocol.ProtocolException;
import dev.tandem.telemetry.LogText;
import dev.tandem.telemetry.Telemetry;

/**
 * What a service does to the connections of its tenant, on every node: disconnect a user, revoke
 * a token or a user's tokens. The {@link Revocations} port carries each to every node, whose
 * connection runtime closes the connections it names ({@link #onNotice}); the revocations are
 * also checked when a token is verified ({@link Authentication}).
 */
public final class FleetControl {
    private static final System.Logger LOG = System.getLogger(FleetControl.class.getName());

    private final Revocations revocations;
    private final Clock clock;
    private final Duration maxTokenLifetime;
    private final FrameCodec codec;
    private final Telemetry telemetry;

    FleetControl(Revocations revocations, Clock clock, Duration maxTokenLifetime, FrameCodec codec, Telemetry telemetry) {
        this.revocations = revocations;
        this.clock = clock;
        this.maxTokenLifetime = maxTokenLifetime;
        this.codec = codec;
        this.telemetry = telemetry;
    }

    /** Tells {@code listener} of every revocation and disconnect, from any node (transports close connections). */
    public void onNotice(Consumer<Revocations.Notice> listener) {
        revocations.listen(listener);
    }

    /**
     * Closes every connection of the user in the service's tenant, on every node (4005; its
     * tokens stay valid). Answers {@code {"user"}}.
     */
    public Result disconnectUser(Principal service, String user) {
        return Answers.answer(telemetry, service, "disconnect", () -> {
            requireId(user, "user");
            revocations.disconnectUser(service.tenant(), user);
            LOG.log(System.Logger.Level.INFO, "tenant " + service.tenant() + ": " + service.user()
                    + " disconnected user " + user);
            return codec.object().put("user", user);
        });
    }

    /**
     * Revokes a token by its id ({@code jti}) in the service's tenant: its connections close with
     * 4004 on every node and it cannot connect again until {@code expiresAt} (default now plus
     * the longest token lifetime). Answers {@code {"jti","until"}}.
     */
    public Result revokeToken(Principal service, String tokenId, Optional<Instant> expiresAt) {
        return Answers.answer(telemetry, service, "revoke", () -> {
            if (tokenId.isEmpty() || tokenId.length() > 256 || tokenId.chars().anyMatch(Character::isISOControl)) {
                throw new ProtocolException(ErrorCode.BAD_REQUEST, "'jti' must have 1-256 characters, no control characters");
            }
            Instant until = keepUntil(expiresAt);
            revocations.revokeToken(service.tenant(), tokenId, until);
            LOG.log(System.Logger.Level.INFO, "tenant " + service.tenant() + ": " + service.user()
                    + " revoked token " + LogText.safe(tokenId));
            return codec.object().put("jti", tokenId).put("until", until.toString());
        });
    }

    /**
     * Revokes every token of a user issued before {@code issuedBefore} (default now) in the
     * service's tenant, until {@code until} (default now plus the longest token lifetime).
     * Answers {@code {"user","issuedBefore","until"}}.
     */
    public Result revokeUser(Principal service, String user, Optional<Instant> issuedBefore, Optional<Instant> until) {
        return Answers.answer(telemetry, service, "revoke", () -> {
            requireId(user, "user");
            // by default, tokens issued before the current second: iat counts whole seconds, so a
            // token a client fetches right after this (in the same second) is not revoked with them
            Instant before = issuedBefore.orElseGet(() -> clock.instant().truncatedTo(ChronoUnit.SECONDS));
            Instant keep = keepUntil(until);
            revocations.revokeUser(service.tenant(), user, before, keep);
            LOG.log(System.Logger.Level.INFO, "tenant " + service.tenant() + ": " + service.user()
                    + " revoked the tokens of user " + user + " issued before " + before);
            return codec.object().put("user", user).put("issuedBefore", before.toString()).put("until", keep.toString());
        });
    }

    private Instant keepUntil(Optional<Instant> given) {
        Instant now = clock.instant();
        Instant until = given.orElse(now.plus(maxTokenLifetime));
        if (!until.isAfter(now)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "the revocation would end in the past");
        }
        return until.isAfter(Authentication.LATEST_EXPIRY) ? Authentication.LATEST_EXPIRY : until;
    }

    private static void requireId(String id, String what) {
        if (!ChannelName.isValidId(id)) {
            throw new ProtocolException(ErrorCode.BAD_REQUEST, "'" + what + "' is not a valid id");
        }
    }
}
