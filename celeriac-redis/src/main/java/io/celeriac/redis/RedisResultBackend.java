package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.CeleriacException;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.backend.ResultCodec;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.output.IntegerOutput;
import io.lettuce.core.output.StatusOutput;
import io.lettuce.core.protocol.AsyncCommand;
import io.lettuce.core.protocol.Command;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;

/**
 * Celery's Redis result backend: each state is {@code SET celery-task-meta-<id> <json> EX <result_expires>} and then
 * {@code PUBLISH}ed on a channel of the same name, so waiters subscribe instead of polling. A batch of results is one
 * pipelined round trip.
 */
public final class RedisResultBackend implements ResultBackend {
    static final String PREFIX = "celery-task-meta-";

    private final RedisUrl url;
    private final @Nullable Duration expires;
    private final ResultCodec results;
    private final RedisConnector redis;
    /** Waiters' subscriptions, one channel per awaited task ({@link RedisPubSub}, as the broker's). */
    private final RedisPubSub pubsub;
    private final RedisChords chords;

    public RedisResultBackend(String url, CeleriacConfig config) {
        // Celery reads the backend's own options; the broker's fill in a master name it leaves out, since a
        // result backend on the broker's Sentinel set is the usual layout.
        this(RedisUrl.parse(url).withTransportOptions(config.resultBackendTransportOptions())
                .withTransportOptions(config.brokerTransportOptions()), config.resultExpires(), new MessageCodec());
    }

    public RedisResultBackend(RedisUrl url, @Nullable Duration expires, MessageCodec codec) {
        this.url = url;
        this.expires = expires == null || expires.isZero() ? null : expires;
        this.results = new ResultCodec(codec);
        this.redis = new RedisConnector(url, "Redis result backend");
        this.pubsub = new RedisPubSub(redis);
        this.chords = new RedisChords(redis, url, this.expires, codec);
    }

    /** Chord parts counted in Celery's keys, with Python workers. */
    @Override
    public Optional<io.celeriac.backend.ChordCounter> chords() {
        return Optional.of(chords);
    }

    /** The connection for a key: the shared one, or on a cluster the one to the master of the key's slot. */
    private StatefulRedisConnection<String, String> connection(String key) {
        return redis.connectionFor(key);
    }

    /** Errors Redis gives while it cannot take writes for now: out of memory, a replica, loading, a busy script. */
    private static boolean passes(RedisCommandExecutionException e) {
        String m = e.getMessage() == null ? "" : e.getMessage();
        for (String code : new String[] {"OOM", "READONLY", "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN",
                "CLUSTERDOWN", "NOREPLICAS"}) {
            if (m.startsWith(code)) {
                return true;
            }
        }
        return false;
    }

    private BrokerUnavailableException unavailable(String what, Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        return new BrokerUnavailableException(what + " failed: Redis result backend at " + url
                + " did not answer (" + cause.getMessage() + ")", cause);
    }

    @Override
    public void store(List<ResultDocument> documents) {
        if (documents.isEmpty()) {
            return;
        }
        List<AsyncCommand<String, String, ?>> commands = dispatch(documents);
        try {
            for (AsyncCommand<String, String, ?> f : commands) {
                f.get(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new BrokerUnavailableException("interrupted while storing results", e);
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            throw failure(documents.size(), e);
        }
    }

    /** {@link #store}'s commands, sent and not waited for; their failure is for {@link #store} to classify. */
    @Override
    public CompletableFuture<Void> storeAsync(List<ResultDocument> documents) {
        if (documents.isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        try {
            List<AsyncCommand<String, String, ?>> commands = dispatch(documents);
            return CompletableFuture.allOf(commands.toArray(CompletableFuture[]::new))
                    .orTimeout(10, TimeUnit.SECONDS);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private List<AsyncCommand<String, String, ?>> dispatch(List<ResultDocument> documents) {
        // Encoded first: a document that cannot be written as JSON is refused for what it is, not an outage.
        List<String> encoded = new ArrayList<>(documents.size());
        for (ResultDocument d : documents) {
            encoded.add(results.encode(d));
        }
        // The whole batch goes out in one write (one flush, one system call), not one per command: at high rates
        // the event loop's cost per command was the largest part of the worker's CPU time per task.
        List<AsyncCommand<String, String, ?>> commands = new ArrayList<>(documents.size() * 2);
        // By connection: one on a plain server; on a cluster each master gets its results' commands in one write.
        Map<StatefulRedisConnection<String, String>, List<AsyncCommand<String, String, ?>>> byNode =
                new java.util.LinkedHashMap<>();
        for (int i = 0; i < documents.size(); i++) {
            String key = PREFIX + documents.get(i).taskId();
            List<AsyncCommand<String, String, ?>> node = byNode.computeIfAbsent(connection(key),
                    c -> new ArrayList<>());
            int before = commands.size();
            String json = encoded.get(i);
            CommandArgs<String, String> set = new CommandArgs<>(StringCodec.UTF8).addKey(key).addValue(json);
            if (expires != null) {
                set.add("PX").add(expires.toMillis());
            }
            commands.add(new AsyncCommand<>(new Command<>(CommandType.SET, new StatusOutput<>(StringCodec.UTF8),
                    set)));
            commands.add(new AsyncCommand<>(new Command<>(CommandType.PUBLISH,
                    new IntegerOutput<>(StringCodec.UTF8), new CommandArgs<>(StringCodec.UTF8).addKey(key)
                    .addValue(json))));
            node.addAll(commands.subList(before, commands.size()));
        }
        try {
            byNode.forEach(StatefulRedisConnection::dispatch);
        } catch (RuntimeException e) {
            throw failure(documents.size(), e);
        }
        return commands;
    }

    private RuntimeException failure(int documents, Exception e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof RedisCommandExecutionException refused && !passes(refused)) {
            // Redis answered and refused (a key of another type, say): retrying would never succeed, so the
            // worker stores a FAILURE for the task instead of retrying this batch for ever.
            return new CeleriacException("Redis result backend at " + url + " refused a result: "
                    + refused.getMessage(), refused);
        }
        return unavailable("Storing " + documents + " result(s)", e);
    }

    /** Whether this backend lives on the Redis server {@code other} names (any database). */
    boolean onServerOf(RedisUrl other) {
        return url.sameServerAs(other);
    }

    /**
     * The writes {@link #store} would make, for a script on the same server to make instead (reserve.lua, with its
     * acks): the keys, then this backend's database, the expiry in milliseconds ('' for none) and the JSON of each
     * document. Encoding fails for a document that cannot be written as JSON, before anything is sent.
     */
    ScriptWrites scriptWrites(List<ResultDocument> documents) {
        byte[][] keys = new byte[documents.size()][];
        byte[][] args = new byte[2 + documents.size()][];
        args[0] = Integer.toString(url.db()).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        args[1] = (expires == null ? "" : Long.toString(expires.toMillis()))
                .getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        for (int i = 0; i < documents.size(); i++) {
            ResultDocument d = documents.get(i);
            keys[i] = (PREFIX + d.taskId()).getBytes(java.nio.charset.StandardCharsets.UTF_8);
            args[2 + i] = results.encode(d).getBytes(java.nio.charset.StandardCharsets.UTF_8);
        }
        return new ScriptWrites(keys, args);
    }

    /** Result keys, and the database, expiry and JSON values a script writes to them (see {@link #scriptWrites}). */
    record ScriptWrites(byte[][] keys, byte[][] args) {
        static final ScriptWrites NONE = new ScriptWrites(new byte[0][], new byte[0][]);
    }

    @Override
    public Optional<ResultDocument> get(String taskId) {
        try {
            String json = connection(PREFIX + taskId).sync().get(PREFIX + taskId);
            return json == null ? Optional.empty() : Optional.of(results.decode(json));
        } catch (io.celeriac.CeleriacException e) {
            throw e;
        } catch (RuntimeException e) {
            throw unavailable("Reading the result of " + taskId, e);
        }
    }

    @Override
    public Optional<ResultDocument> await(String taskId, Duration timeout) throws InterruptedException {
        String channel = PREFIX + taskId;
        LinkedBlockingQueue<String> inbox = new LinkedBlockingQueue<>();
        AutoCloseable subscription = null;
        try {
            // Subscribe first, then read: a result stored in between is caught by one or the other.
            subscription = pubsub.subscribe(channel, inbox::add);
            Optional<ResultDocument> last = get(taskId);
            if (last.isPresent() && last.get().ready()) {
                return last;
            }
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return last;
                }
                String json = inbox.poll(left, TimeUnit.NANOSECONDS);
                if (json != null) {
                    ResultDocument d = results.decode(json);
                    last = Optional.of(d);
                    if (d.ready()) {
                        return last;
                    }
                }
            }
        } catch (RuntimeException e) {
            throw unavailable("Waiting for the result of " + taskId, e);
        } finally {
            if (subscription != null) {
                try {
                    subscription.close();
                } catch (Exception ignored) {
                    // unsubscribing is best effort: the subscription dies with the connection anyway
                }
            }
        }
    }

    @Override
    public void forget(Collection<String> taskIds) {
        if (taskIds.isEmpty()) {
            return;
        }
        if (!redis.isCluster()) {
            redis.connection().sync().del(taskIds.stream().map(id -> PREFIX + id).toArray(String[]::new));
            return;
        }
        // On a cluster the keys are in different slots: one DEL each (a DEL of several would be refused, CROSSSLOT).
        for (String id : taskIds) {
            connection(PREFIX + id).sync().del(PREFIX + id);
        }
    }

    @Override
    public void close() {
        pubsub.close();
        redis.close();
    }
}
