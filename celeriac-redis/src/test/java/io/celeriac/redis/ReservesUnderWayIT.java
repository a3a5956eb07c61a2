package io.celeriac.redis;

import io.celeriac.task.AsyncResult;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.task.Signature;
import io.celeriac.task.Task;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * A worker whose consumer keeps two reserves under way (acks late, a window of 32, a backlog of tasks that do
 * nothing) while redis-server is SIGKILLed and restarted from its fsync-always AOF, twice, and paused once: the
 * answers to the calls under way are lost each time, after Redis ran them or before. The worker lives throughout, so
 * every task must run exactly once: a message a lost call took goes back to its queue without having been run, and
 * none is left behind. Runs are counted by the task itself, not read from the broker or the backend.
 */
class ReservesUnderWayIT {
    private static final int TASKS = 30_000;
    private static final Map<Integer, AtomicInteger> RUNS = new ConcurrentHashMap<>();

    /** Counts its own runs. */
    public static final class Counted {
        @Task(name = "count.run", acksLate = Task.Toggle.ON)
        public int run(int i) {
            RUNS.computeIfAbsent(i, k -> new AtomicInteger()).incrementAndGet();
            return i;
        }
    }

    private RedisOutageIT.PersistentRedis server;
    private Celeriac app;
    private Worker worker;

    @AfterEach
    void tearDown() throws Exception {
        if (worker != null) {
            worker.shutdownNow();
        }
        if (app != null) {
            app.close();
        }
        if (server != null) {
            server.close();
        }
    }

    @Test
    void killsAndPausesOfRedisWithTwoReservesUnderWayLoseNothingAndRunNothingTwice() throws Exception {
        RUNS.clear();
        server = RedisOutageIT.PersistentRedis.launch();
        app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(server.url(0))
                .resultBackend(server.url(1)).acksLate(true).hostname("two@test").build())
                .register(new Counted()).build();
        List<Signature> calls = new ArrayList<>(TASKS);
        for (int i = 0; i < TASKS; i++) {
            calls.add(app.signature("count.run", i));
        }
        List<AsyncResult> results = app.sendAll(calls);
        worker = app.worker().concurrency(8).prefetchMultiplier(4).start();

        // Two calls under way show in Redis: the note of a call sent while another was under way is kept beside
        // that one's, so the consumer's note hash holds two notes (one queue: no queue order beside them).
        RedisClient client = RedisClient.create(server.url(0));
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            String consumer = await().atMost(Duration.ofSeconds(30))
                    .until(() -> c.sync().smembers(RedisBroker.CONSUMERS), s -> s.size() == 1).iterator().next();
            String notes = RedisKeys.RESERVING_PREFIX + consumer;
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(1))
                    .until(() -> c.sync().hlen(notes) >= 2);
        } finally {
            client.shutdown();
        }

        outageAfter(TASKS / 10, () -> {
            server.kill();
            Thread.sleep(1000); // the outage itself: Redis down this long, not a wait for a condition
            server.start();
        });
        outageAfter(TASKS / 3, () -> {
            server.pause();
            Thread.sleep(2000); // the pause itself: Redis stopped this long, not a wait for a condition
            server.resume();
        });
        outageAfter(TASKS / 2, () -> {
            server.kill();
            Thread.sleep(5000); // the outage itself: Redis down this long, not a wait for a condition
            server.start();
        });

        for (AsyncResult r : results) {
            assertThat(r.get(Duration.ofSeconds(120))).isNotNull();
        }
        List<Integer> notOnce = new ArrayList<>();
        for (int i = 0; i < TASKS; i++) {
            AtomicInteger n = RUNS.get(i);
            if (n == null || n.get() != 1) {
                notOnce.add(i);
            }
        }
        assertThat(notOnce).as("tasks that did not run exactly once").isEmpty();
        try (RedisBroker reader = new RedisBroker(RedisUrl.parse(server.url(0)), CeleriacConfig.defaults(),
                new MessageCodec(), Clock.systemUTC())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> reader.unackedCount() == 0);
            assertThat(reader.queueLength("celery")).isZero();
        }
    }

    /** Waits until {@code runs} tasks ran, then runs the outage (and the run count goes on under it). */
    private static void outageAfter(int runs, Outage outage) throws Exception {
        await().atMost(Duration.ofSeconds(120)).until(() -> RUNS.size() >= runs);
        outage.run();
    }

    private interface Outage {
        void run() throws Exception;
    }
}
