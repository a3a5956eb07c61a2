package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Results the reserve script stores with its acks (Celery's Redis backend layout, results in database 1): each key is
 * written, and each waiter subscribed to a result's channel, or to a pattern, gets it as Celery's backend publishes
 * it. With several results the script publishes only where someone listens, which is all a PUBLISH would reach.
 */
class ScriptStoredResultsIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final MessageCodec codec = new MessageCodec();
    private RedisClient client;
    private StatefulRedisConnection<String, String> admin;
    private RedisBroker broker;
    private RedisResultBackend backend;

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        admin = client.connect();
        admin.sync().flushall();
        broker = new RedisBroker(RedisUrl.parse(REDIS.url(0)), CeleriacConfig.defaults(), codec, Clock.systemUTC());
        backend = new RedisResultBackend(RedisUrl.parse(REDIS.url(1)), Duration.ofHours(1), codec);
    }

    @AfterEach
    void tearDown() {
        broker.close();
        backend.close();
        admin.close();
        client.shutdown();
    }

    @Test
    void waitersOnSomeChannelsGetTheirResultsAndOnlyTheyArePublishedTo() throws Exception {
        List<String> ids = reserveFive();
        Map<String, String> heard = new ConcurrentHashMap<>();
        try (StatefulRedisPubSubConnection<String, String> sub = client.connectPubSub()) {
            sub.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String channel, String message) {
                    heard.put(channel, message);
                }
            });
            sub.sync().subscribe("celery-task-meta-" + ids.get(1), "celery-task-meta-" + ids.get(3));
            long published = publishCalls();

            storeAndAck(ids);

            await().atMost(10, TimeUnit.SECONDS).until(() -> heard.size() == 2);
            assertThat(heard).containsOnlyKeys("celery-task-meta-" + ids.get(1), "celery-task-meta-" + ids.get(3));
            for (String id : ids) {
                assertThat(admin.sync().exists("celery-task-meta-" + id)).as("not in the broker's database 0")
                        .isZero();
                assertThat(backend.get(id)).as("stored: " + id).isPresent();
            }
            assertThat(heard.get("celery-task-meta-" + ids.get(1))).contains("\"task_id\":\"" + ids.get(1) + "\"")
                    .contains("\"status\":\"SUCCESS\"");
            assertThat(publishCalls() - published).as("PUBLISH calls: only to the two channels listened to")
                    .isEqualTo(2);
        }
        assertThat(admin.sync().hlen(RedisBroker.UNACKED)).as("acked with the results").isZero();
    }

    @Test
    void aPatternSubscriberGetsEveryResult() throws Exception {
        List<String> ids = reserveFive();
        Map<String, String> heard = new ConcurrentHashMap<>();
        try (StatefulRedisPubSubConnection<String, String> sub = client.connectPubSub()) {
            sub.addListener(new RedisPubSubAdapter<>() {
                @Override
                public void message(String pattern, String channel, String message) {
                    heard.put(channel, message);
                }
            });
            sub.sync().psubscribe("celery-task-meta-*");

            storeAndAck(ids);

            await().atMost(10, TimeUnit.SECONDS).until(() -> heard.size() == ids.size());
            for (String id : ids) {
                assertThat(heard.get("celery-task-meta-" + id)).contains("\"task_id\":\"" + id + "\"");
            }
        }
    }

    private List<String> reserveFive() throws Exception {
        List<OutboundMessage> batch = new ArrayList<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            String id = UUID.randomUUID().toString();
            ids.add(id);
            TaskMessage m = TaskMessage.builder("t.add", id).args(List.of(1, 2)).routingKey("results.q")
                    .deliveryTag(UUID.randomUUID().toString()).build();
            batch.add(new OutboundMessage("results.q", 0, codec.encode(m), id, null));
        }
        broker.publish(batch);
        return ids;
    }

    private void storeAndAck(List<String> ids) throws Exception {
        List<Delivery> got = broker.reserve(List.of("results.q"), 5, Duration.ofSeconds(2));
        assertThat(got).hasSize(5);
        List<ResultDocument> results = new ArrayList<>();
        for (String id : ids) {
            results.add(ResultDocument.of(id, "SUCCESS", 3));
        }
        assertThat(broker.storesResultsOf(backend)).isTrue();
        broker.storeAckAndReserve(backend, results, got, List.of("results.q"), 0, Duration.ZERO);
    }

    private long publishCalls() {
        String stats = admin.sync().info("commandstats");
        for (String line : stats.split("\r?\n")) {
            if (line.startsWith("cmdstat_publish:")) {
                return Long.parseLong(line.replaceAll("^cmdstat_publish:calls=(\\d+),.*", "$1"));
            }
        }
        return 0;
    }
}
