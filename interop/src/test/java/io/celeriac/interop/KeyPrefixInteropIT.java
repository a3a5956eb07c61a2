package io.celeriac.interop;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.testing.RedisClusterSet;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * kombu's {@code global_keyprefix} shared with the real Celery 5.2 (Debian's python3-celery): every broker key and
 * channel under the prefix on both sides. First on a plain server, then as a mixed fleet uses it on Redis Cluster:
 * a hash tag as the prefix, both sides connected with {@code redis://} to the master serving that tag's slot (Python
 * cannot use a cluster), results on a plain server (Celery 5.2 does not prefix them, so they would scatter over
 * slots that node does not serve).
 */
class KeyPrefixInteropIT {
    private static final String PREFIX = "{celery}";

    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final ObjectMapper json = new ObjectMapper();
    private Celeriac app;
    private Worker worker;
    private Process pyWorker;
    private RedisClient client;

    @AfterEach
    void tearDown() throws Exception {
        if (worker != null) {
            worker.shutdown(Duration.ofSeconds(10));
        }
        PythonCelery.stop(pyWorker);
        if (app != null) {
            app.close();
        }
        if (client != null) {
            client.shutdown();
        }
    }

    @Test
    void onePrefixedLayoutBothWaysOnAPlainServer() throws Exception {
        client = RedisClient.create(REDIS.url(0));
        StatefulRedisConnection<String, String> broker = client.connect();
        broker.sync().flushall();
        exchangeBothWays(REDIS.url(0), REDIS.url(1), broker);
        List<String> keys = broker.sync().keys("*");
        assertThat(keys).as("the broker's keys, Python's and ours: %s", keys)
                .contains(PREFIX + "_kombu.binding.java", PREFIX + "_kombu.binding.py",
                        PREFIX + "_kombu.binding.celery.pidbox")
                .allMatch(k -> k.startsWith(PREFIX), "under " + PREFIX);
    }

    @Test
    void aMixedFleetSharesOneSlotOfARedisCluster() throws Exception {
        try (RedisClusterSet cluster = RedisClusterSet.start()) {
            int port = cluster.masterOf(PREFIX);
            String brokerUrl = "redis://127.0.0.1:" + port + "/0";
            client = RedisClient.create(REDIS.url(1));
            StatefulRedisConnection<String, String> results = client.connect();
            results.sync().flushall();
            exchangeBothWays(brokerUrl, REDIS.url(1), results);
            int slot = cluster.slotOf(PREFIX + "java");
            List<String> keys = cluster.run(port, c -> c.sync().keys("*"));
            assertThat(keys).as("the node's keys: %s", keys).contains(PREFIX + "_kombu.binding.java")
                    .allMatch(k -> cluster.slotOf(k) == slot, "all in the slot of " + PREFIX);
        }
    }

    /** Python sends to our worker; we send to a Python worker; {@code celery inspect ping} sees our worker. */
    @SuppressWarnings("unchecked")
    private void exchangeBothWays(String brokerUrl, String backendUrl,
                                  StatefulRedisConnection<String, String> ledger) throws Exception {
        PythonCelery python = new PythonCelery(brokerUrl, backendUrl,
                Map.of("INTEROP_KEYPREFIX", PREFIX, "INTEROP_LEDGER", backendUrl));
        app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(brokerUrl).resultBackend(backendUrl)
                        .brokerTransportOptions(Map.of("global_keyprefix", PREFIX))
                        .hostname("java@prefixed").build())
                .register(new InteropTasks(ledger.sync())).build();
        worker = app.worker().queues("java").concurrency(4).start();

        Map<String, Object> seen = json.readValue(python.client("send-to-java"), Map.class);
        assertThat(seen.get("add")).isEqualTo(5);
        assertThat(seen.get("kwargs")).isEqualTo(42);
        assertThat(seen.get("countdown")).isEqualTo(2);
        assertThat(((Map<String, Object>) seen.get("boom")).get("state")).isEqualTo("FAILURE");

        pyWorker = python.worker("py", "py", 2);
        AsyncResult mul = app.applyAsync("interop.py_mul", List.of(6, 7), Map.of(),
                SendOptions.builder().queue("py").taskId("java-prefixed-1").build());
        assertThat(mul.get(Duration.ofSeconds(60))).isEqualTo(42);

        assertThat(python.celery("inspect", "ping", "-t", "3")).contains("java@prefixed: OK");
    }
}
