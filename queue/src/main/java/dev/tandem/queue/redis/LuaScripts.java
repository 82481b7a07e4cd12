package dev.tandem.queue.redis;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.redisson.api.RScript;
import org.redisson.api.RedissonClient;
import org.redisson.client.RedisException;
import org.redisson.client.codec.StringCodec;

/**
 * Runs Lua scripts by their SHA ({@code EVALSHA}), loading a script on first use and again when
 * the server forgot it ({@code NOSCRIPT} after a restart or {@code SCRIPT FLUSH}), so the
 * script text is not sent with every call on the hot path. All values travel as strings. Shared
 * by the queue module's Redis adapters.
 */
public final class LuaScripts {
    private final RScript script;
    private final Map<String, String> shas = new ConcurrentHashMap<>();

    /** LuaScripts run on {@code redisson}. */
    public LuaScripts(RedissonClient redisson) {
        this.script = redisson.getScript(StringCodec.INSTANCE);
    }

    /** Evaluates {@code source} with keys (all in one hash slot) and string arguments. */
    public <R> R eval(String source, RScript.ReturnType type, List<Object> keys, Object... args) {
        String sha = shas.get(source);
        if (sha == null) {
            sha = load(source);
        }
        try {
            return script.evalSha(RScript.Mode.READ_WRITE, sha, type, keys, args);
        } catch (RedisException e) {
            if (e.getMessage() == null || !e.getMessage().contains("NOSCRIPT")) {
                throw e;
            }
            return script.evalSha(RScript.Mode.READ_WRITE, load(source), type, keys, args);
        }
    }

    private String load(String source) {
        String sha = script.scriptLoad(source);
        shas.put(source, sha);
        return sha;
    }
}
