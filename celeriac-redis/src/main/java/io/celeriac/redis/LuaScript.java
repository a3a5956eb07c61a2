package io.celeriac.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import org.jspecify.annotations.Nullable;

/**
 * A Lua script from this package's resources, run by SHA and reloaded when Redis restarted and forgot it. Shared
 * functions live in prelude scripts whose source goes first (Redis has no includes).
 *
 * <p>Every key a script touches is passed in {@code KEYS}, never built inside the script, so that the scripts can run
 * on Redis Cluster once queues' keys share a hash slot.
 */
final class LuaScript {
    private final String name;
    private final String source;
    private volatile @Nullable String sha;

    LuaScript(String name, String... preludes) {
        this.name = name;
        StringBuilder s = new StringBuilder();
        for (String p : preludes) {
            s.append(read(p)).append('\n');
        }
        this.source = s.append(read(name)).toString();
    }

    private static String read(String name) {
        try (InputStream in = LuaScript.class.getResourceAsStream(name + ".lua")) {
            if (in == null) {
                throw new IllegalStateException("missing script " + name + ".lua");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @SafeVarargs
    final <K, V, T> T run(RedisCommands<K, V> redis, ScriptOutputType type, K[] keys, V... args) {
        String s = sha;
        if (s == null) {
            s = sha = redis.scriptLoad(source);
        }
        try {
            return redis.evalsha(s, type, keys, args);
        } catch (RedisNoScriptException e) {
            sha = redis.scriptLoad(source);
            return redis.evalsha(sha, type, keys, args);
        }
    }

    /** The SHA-1 to call it by once it has been loaded (by a {@link #run}), else null. */
    @Nullable String loadedSha() {
        return sha;
    }

    /** The SHA-1 Redis knows this script by (what SCRIPT LOAD returns), computed here. */
    String digest() {
        return UnackedRestorer.sha1(source.getBytes(StandardCharsets.UTF_8));
    }

    @Override
    public String toString() {
        return name;
    }
}
