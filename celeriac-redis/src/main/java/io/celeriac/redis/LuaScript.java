package io.celeriac.redis;

import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** A Lua script from this package's resources, run by SHA and reloaded when Redis restarted and forgot it. */
final class LuaScript {
    private final String name;
    private final String source;
    private volatile String sha;

    LuaScript(String name) {
        this.name = name;
        try (InputStream in = LuaScript.class.getResourceAsStream(name + ".lua")) {
            if (in == null) {
                throw new IllegalStateException("missing script " + name + ".lua");
            }
            this.source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    <T> T run(RedisCommands<String, String> redis, ScriptOutputType type, String[] keys, String... args) {
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

    @Override
    public String toString() {
        return name;
    }
}
