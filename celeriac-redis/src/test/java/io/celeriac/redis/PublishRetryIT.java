package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.PublishRetryPolicy;
import io.celeriac.task.SendOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Sending while Redis restarts: with Celery's publish retry, a send either returns (and its message is queued) or
 * throws {@link BrokerUnavailableException} once its policy is used up; a unique send with a caller-chosen id may be
 * retried without running twice. Messages are counted by reading the queue; no worker takes them.
 */
class PublishRetryIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final String QUEUE = "publish-retry";
    /** Long enough to span a restart: 20 retries, 0.1 s growing to 0.5 s apart, about 9 s in all. */
    private static final PublishRetryPolicy SPANS_A_RESTART = PublishRetryPolicy.builder().maxRetries(20)
            .intervalStart(Duration.ofMillis(100)).intervalStep(Duration.ofMillis(100))
            .intervalMax(Duration.ofMillis(400)).build();

    private RedisClient client;
    private StatefulRedisConnection<String, String> redis;

    @BeforeEach
    void connect() throws Exception {
        REDIS.start();
        client = RedisClient.create(REDIS.url(0));
        redis = client.connect();
        redis.sync().flushall();
    }

    @AfterEach
    void disconnect() throws Exception {
        REDIS.start();
        redis.close();
        client.shutdown();
    }

    private Celeriac app(CeleriacConfig.Builder config) {
        return Celeriac.builder().config(config.brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1)).build()).build();
    }

    /** Task id of every message in the test queue (one entry per message, so duplicates show). */
    private List<String> queuedIds(Celeriac app) {
        List<String> ids = new ArrayList<>();
        for (String raw : redis.sync().lrange(RedisBroker.listKey(QUEUE, RedisBroker.step(0)), 0, -1)) {
            ids.add(String.valueOf(new KombuEnvelope(app.codec()).decode(raw).headers().get("id")));
        }
        return ids;
    }

    private static SendOptions.Builder to(String id) {
        return SendOptions.builder().queue(QUEUE).taskId(id);
    }

    @Test
    void aProducerSendingThroughARedisRestartHasEverySendThatReturnedQueued() throws Exception {
        try (Celeriac app = app(CeleriacConfig.builder().publishRetryPolicy(SPANS_A_RESTART))) {
            List<String> returned = new CopyOnWriteArrayList<>();
            // Sends in flight during the whole time Redis was gone: with retry off, each of those would have thrown.
            List<String> spannedTheOutage = new CopyOnWriteArrayList<>();
            List<String> threw = new CopyOnWriteArrayList<>();
            AtomicReference<Throwable> unexpected = new AtomicReference<>();
            Set<String> unique = ConcurrentHashMap.newKeySet();
            AtomicLong deadFrom = new AtomicLong();
            AtomicLong deadUntil = new AtomicLong();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong restartedAt = new AtomicLong();
            AtomicLong firstReturnAfterRestart = new AtomicLong();
            Thread producer = new Thread(() -> {
                for (int n = 0; !stop.get(); n++) {
                    String id = "send-" + n;
                    // Every other send is unique (publishOnce keyed by its id): its retries must never queue it twice.
                    boolean isUnique = n % 2 == 0;
                    long started = System.nanoTime();
                    try {
                        app.applyAsync("outage.work", List.of(n), Map.of(), to(id).unique(isUnique).build());
                        returned.add(id);
                        if (restartedAt.get() != 0) {
                            firstReturnAfterRestart.compareAndSet(0, System.nanoTime());
                        }
                        long from = deadFrom.get();
                        long until = deadUntil.get();
                        if (from != 0 && started < from && until != 0 && System.nanoTime() > until) {
                            spannedTheOutage.add(id);
                        }
                    } catch (BrokerUnavailableException e) {
                        threw.add(id);
                    } catch (Throwable e) {
                        unexpected.set(e);
                        return;
                    }
                    if (isUnique) {
                        unique.add(id);
                    }
                    try {
                        Thread.sleep(5); // a steady producer, not a flood: the machine is shared
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            }, "producer");
            producer.start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> returned.size() >= 50);

                // A clean stop that saves the data (SHUTDOWN SAVE), so that whatever Redis confirmed is still there
                // after the restart and "every send that returned is queued" can be checked strictly.
                try (StatefulRedisConnection<String, String> admin = client.connect()) {
                    admin.sync().shutdown(true);
                } catch (RuntimeException expectedAsTheServerGoesAway) {
                    // the connection closes under the command
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> !answers(REDIS.port()));
                // A send in flight from here until the restart begins can only return by retrying past it.
                deadFrom.set(System.nanoTime());
                REDIS.stop();
                Thread.sleep(1000);
                deadUntil.set(System.nanoTime());
                REDIS.start();
                restartedAt.set(System.nanoTime());
                int before = returned.size();
                await().atMost(Duration.ofSeconds(60)).until(() -> returned.size() >= before + 50);
            } finally {
                stop.set(true);
                producer.join(30_000);
            }

            assertThat(unexpected.get()).as("sends may only return or throw BrokerUnavailableException").isNull();
            assertThat(spannedTheOutage).as("sends that retried until Redis was back").isNotEmpty();
            List<String> queued = queuedIds(app);
            assertThat(Set.copyOf(queued)).as("every send that returned is in the queue").containsAll(returned);
            Map<String, Integer> copies = new HashMap<>();
            queued.forEach(id -> copies.merge(id, 1, Integer::sum));
            for (String id : unique) {
                assertThat(copies.getOrDefault(id, 0)).as("copies of unique send " + id).isLessThanOrEqualTo(1);
            }
            // Reported, not asserted (the machine is shared): how soon sends work again once Redis answers.
            System.out.printf("PublishRetryIT: %d sends returned (%d of them retried across the outage), %d threw, "
                    + "%d queued messages, %d plain sends queued twice; the first send returned %d ms after "
                    + "redis-server answered again%n", returned.size(), spannedTheOutage.size(), threw.size(),
                    queued.size(), copies.values().stream().filter(c -> c > 1).count(),
                    (firstReturnAfterRestart.get() - restartedAt.get()) / 1_000_000);
        }
    }

    @Test
    void withRetryOffASendDuringAnOutageThrowsAtOnceAndWithRetryOnOnceThePolicyIsUsedUp() throws Exception {
        try (Celeriac app = app(CeleriacConfig.builder());
             Celeriac noRetry = app(CeleriacConfig.builder().publishRetry(false))) {
            app.applyAsync("outage.work", List.of(0), Map.of(), to("before").build());
            noRetry.applyAsync("outage.work", List.of(0), Map.of(), to("before-2").build());
            REDIS.stop();

            // Celery's apply_async(retry=False): the first failure is the caller's.
            assertThatThrownBy(() -> app.applyAsync("outage.work", List.of(1), Map.of(),
                    to("off-per-send").retry(false).build()))
                    .isInstanceOf(BrokerUnavailableException.class)
                    .hasMessageNotContaining("Gave up");
            // task_publish_retry = False, for every send of the app.
            assertThatThrownBy(() -> noRetry.applyAsync("outage.work", List.of(2), Map.of(), to("off").build()))
                    .isInstanceOf(BrokerUnavailableException.class)
                    .hasMessageNotContaining("Gave up");
            // Celery's default policy: 3 retries, then the last error, saying so.
            assertThatThrownBy(() -> app.applyAsync("outage.work", List.of(3), Map.of(), to("default").build()))
                    .isInstanceOf(BrokerUnavailableException.class)
                    .hasMessageContaining("Gave up publishing outage.work[default] after 4 attempts")
                    .hasMessageContaining("127.0.0.1:" + REDIS.port())
                    .hasCauseInstanceOf(BrokerUnavailableException.class);
            // A per-send policy is laid over the configured one: only max_retries changes here.
            assertThatThrownBy(() -> app.sendAll(List.of(app.signature("outage.work", List.of(4), Map.of(),
                    to("batch").retryPolicy(PublishRetryPolicy.builder().maxRetries(1).build()).build()))))
                    .isInstanceOf(BrokerUnavailableException.class)
                    .hasMessageContaining("after 2 attempts")
                    .hasMessageContaining("'interval_step': 0.2");
        }
    }

    @Test
    void aSendWhoseAnswerTimedOutWasQueuedAnywayAndAUniqueSendRetriedIsQueuedOnce() throws Exception {
        try (Celeriac app = app(CeleriacConfig.builder())) {
            // Connected, and the publish_once script loaded, before Redis stops answering.
            app.applyAsync("outage.work", List.of(0), Map.of(), to("warm-up").unique(true).build());

            // Redis holds every command for longer than the 10 s command timeout, then runs them: the outcome a
            // producer cannot know (the command was written, the answer never came in time).
            try (StatefulRedisConnection<String, String> admin = client.connect()) {
                admin.sync().clientPause(15_000);
            }
            AtomicReference<Throwable> plain = new AtomicReference<>();
            AtomicReference<Throwable> unique = new AtomicReference<>();
            Thread a = new Thread(() -> plain.set(attempt(() -> app.applyAsync("outage.work", List.of(1), Map.of(),
                    to("order-41-plain").retry(false).build()))));
            Thread b = new Thread(() -> unique.set(attempt(() -> app.applyAsync("outage.work", List.of(2), Map.of(),
                    to("order-42-unique").unique(true).build()))));
            a.start();
            b.start();
            a.join(60_000);
            b.join(60_000);

            assertThat(plain.get()).as("a plain send whose answer timed out").isInstanceOf(
                    BrokerUnavailableException.class);
            assertThat(unique.get()).as("a unique send retried after its answer timed out returns").isNull();
            List<String> queued = await().atMost(Duration.ofSeconds(30)).until(() -> queuedIds(app),
                    q -> q.contains("order-41-plain"));
            // The send that threw had reached Redis: resending it blindly would run the task twice.
            assertThat(queued).as("the plain send that threw").containsOnlyOnce("order-41-plain");
            // The retry's publishOnce found the key its first attempt had taken, and published nothing.
            assertThat(queued).as("the unique send, first attempt timed out, retried").containsOnlyOnce(
                    "order-42-unique");
        }
    }

    private static boolean answers(int port) {
        try (java.net.Socket s = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), port)) {
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    private static Throwable attempt(Runnable send) {
        try {
            send.run();
            return null;
        } catch (Throwable e) {
            return e;
        }
    }
}
