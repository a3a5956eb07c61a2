package io.celeriac.redis;

import io.celeriac.CeleriacException;
import io.celeriac.backend.ChordCounter;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SetArgs;
import io.lettuce.core.api.sync.RedisCommands;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * Chord counting in Celery's Redis keys, so a chord whose parts run on Python and Java workers completes once:
 * {@code celery-taskset-meta-<group>.s} holds the size, {@code .t} Celery's size adjustment, {@code .j} a sorted set
 * of {@code [1, task id, state, result]} scored by group index. A part is recorded and the count compared in one
 * script ({@code chord_part.lua}); Celery does the same in one MULTI. A redelivered part replaces its first record
 * (found among the members of its score), which Celery's own workers do not do; no key of our own is used for that,
 * so a Python worker that counts the last part and deletes Celery's three keys leaves nothing behind.
 */
final class RedisChords implements ChordCounter {
    static final String PREFIX = "celery-taskset-meta-";
    private static final LuaScript PART = new LuaScript("chord_part");

    private final RedisConnector redis;
    private final @Nullable Duration expires;
    private final MessageCodec codec;
    private final RedisUrl url;

    RedisChords(RedisConnector redis, RedisUrl url, @Nullable Duration expires, MessageCodec codec) {
        this.redis = redis;
        this.url = url;
        this.expires = expires;
        this.codec = codec;
    }

    private RedisCommands<String, String> sync(String groupId) {
        return redis.connectionFor(key(groupId, ".s")).sync();
    }

    /**
     * A chord's key: Celery's name on a plain server; on a cluster the group id is a hash tag
     * ({@code celery-taskset-meta-{<group>}.j}), so that the three keys of one chord share a slot and
     * {@code chord_part.lua} can count a part atomically (Celery's names would spread them over three slots).
     */
    private String key(String groupId, String suffix) {
        return redis.isCluster() ? PREFIX + "{" + groupId + "}" + suffix : PREFIX + groupId + suffix;
    }

    @Override
    public void setSize(String groupId, int size) {
        call("Writing the size of chord " + groupId, () -> {
            SetArgs args = expires == null ? new SetArgs() : new SetArgs().ex(expires.toSeconds());
            return sync(groupId).set(key(groupId, ".s"), Integer.toString(size), args);
        });
    }

    @Override
    public Optional<List<Part>> partDone(String groupId, String taskId, @Nullable Integer groupIndex, String state,
                                         @Nullable Object result) {
        String member = codec.writeJson(Arrays.asList(1, taskId, state, result));
        String[] keys = {key(groupId, ".j"), key(groupId, ".t"), key(groupId, ".s")};
        List<Object> members = call("Recording part " + taskId + " of chord " + groupId,
                () -> PART.run(sync(groupId), ScriptOutputType.MULTI, keys, member,
                        groupIndex == null ? "+inf" : groupIndex.toString(), taskId,
                        Long.toString(expires == null ? 0 : expires.toSeconds())));
        // The script's false (not complete) reaches Lettuce's MULTI output as a list holding one null.
        if (members == null || members.isEmpty() || members.get(0) == null) {
            return Optional.empty();
        }
        List<Part> parts = new ArrayList<>(members.size());
        for (Object m : members) {
            List<?> tuple = (List<?>) codec.readJson(m.toString());
            parts.add(new Part(String.valueOf(tuple.get(1)), String.valueOf(tuple.get(2)), tuple.get(3)));
        }
        return Optional.of(parts);
    }

    @Override
    public void forget(String groupId) {
        call("Deleting chord " + groupId, () -> sync(groupId).del(key(groupId, ".j"), key(groupId, ".t"),
                key(groupId, ".s")));
    }

    private <T> T call(String what, java.util.function.Supplier<T> op) {
        try {
            return op.get();
        } catch (RedisCommandExecutionException e) {
            throw new CeleriacException(what + ": Redis at " + url + " refused: " + e.getMessage(), e);
        } catch (CeleriacException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new BrokerUnavailableException(what + " failed: Redis result backend at " + url
                    + " did not answer (" + e.getMessage() + ")", e);
        }
    }
}
