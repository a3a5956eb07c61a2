package io.celeriac.interop;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.rabbitmq.client.AMQP;
import com.rabbitmq.client.Channel;
import com.rabbitmq.client.Connection;
import com.rabbitmq.client.ConnectionFactory;
import com.rabbitmq.client.GetResponse;
import com.rabbitmq.client.LongString;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.amqp.AmqpBroker;
import io.celeriac.testing.RabbitMqServer;
import io.celeriac.control.ControlMessage;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskFailedException;
import io.celeriac.worker.Worker;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Celeriac and the real Celery 5.2 (Debian's python3-celery, kombu 5.2, py-amqp 5.1) on one private RabbitMQ node:
 * Python sends to our worker, we send to a Python worker, both workers share a queue, and Celery's monitoring tools
 * ({@code celery inspect}, {@code celery events}) see our worker while our broadcast reaches Python's. Every task
 * queue is declared with {@code x-max-priority} 10 on both sides ({@code task_queue_max_priority}), so a declaration
 * that differed in any argument would fail with PRECONDITION_FAILED. Results go to a private Redis (RabbitMQ
 * stores none here), which also keeps the ledger of task runs.
 */
class CeleryAmqpInteropIT {
    @RegisterExtension
    static final RabbitMqServer RABBIT = new RabbitMqServer();
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    static final CountDownLatch[] RELEASE = {new CountDownLatch(0)};

    /** A task that blocks until the test releases it, to be seen by {@code inspect active}. */
    public static class HoldTasks {
        @io.celeriac.task.Task(name = "interop.hold")
        public String hold(String tag) throws InterruptedException {
            RELEASE[0].await();
            return tag;
        }
    }

    private final ObjectMapper json = new ObjectMapper();
    private RedisClient client;
    private StatefulRedisConnection<String, String> connection;
    private RedisCommands<String, String> redis;
    private Celeriac app;
    private Worker worker;
    private Process pyWorker;
    private PythonCelery python;

    /** kombu's spelling of the node's default vhost. */
    private static String pythonBrokerUrl() {
        return "amqp://guest:guest@127.0.0.1:" + RABBIT.port() + "//";
    }

    @BeforeEach
    void setUp() {
        client = RedisClient.create(REDIS.url(0));
        connection = client.connect();
        redis = connection.sync();
        redis.flushall();
        python = new PythonCelery(pythonBrokerUrl(), REDIS.url(1),
                Map.of("INTEROP_LEDGER", REDIS.url(0), "INTEROP_QUEUE_MAX_PRIORITY", "10"));
        app = Celeriac.builder()
                .config(CeleriacConfig.builder().brokerUrl(RABBIT.url() + "?task_queue_max_priority=10")
                        .resultBackend(REDIS.url(1)).build())
                .register(new InteropTasks(redis), new HoldTasks()).build();
        for (String q : List.of("java", "py", "shared")) {
            app.broker().purge(q);
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        RELEASE[0].countDown();
        if (worker != null) {
            worker.shutdown(Duration.ofSeconds(10));
        }
        PythonCelery.stop(pyWorker);
        app.close();
        connection.close();
        client.shutdown();
    }

    private Worker startJavaWorker(String queue) {
        return app.worker().hostname("java@interop").queues(queue).concurrency(4).prefetchMultiplier(1)
                .sendEvents(true).start();
    }

    @Test
    @SuppressWarnings("unchecked")
    void pythonClientSendsToOurWorkerAndReadsOurResults() throws Exception {
        assertThat(app.broker()).isInstanceOf(AmqpBroker.class);
        worker = startJavaWorker("java");

        Map<String, Object> seen = json.readValue(python.client("send-to-java"), Map.class);

        assertThat(seen.get("add")).isEqualTo(5);
        assertThat(seen.get("kwargs")).isEqualTo(42);
        assertThat(seen.get("default")).as("kw(1, c=9) with b's default, 2").isEqualTo(129);
        assertThat(seen.get("countdown")).isEqualTo(2);
        assertThat(((Number) seen.get("countdown_waited")).doubleValue()).isGreaterThanOrEqualTo(1.5);
        assertThat(seen.get("priority")).isEqualTo(10);
        assertThat(seen.get("custom_id")).isEqualTo(List.of("order-42-add", 15));
        Map<String, Object> boom = (Map<String, Object>) seen.get("boom");
        assertThat(boom.get("type")).isEqualTo("IllegalArgumentException");
        assertThat((String) boom.get("message")).contains("no such order");
        assertThat(boom.get("state")).isEqualTo("FAILURE");
        assertThat((String) boom.get("traceback")).contains("java.lang.IllegalArgumentException");
    }

    @Test
    @SuppressWarnings("unchecked")
    void ourClientSendsToAPythonWorkerAndReadsItsResults() throws Exception {
        pyWorker = python.worker("py", "py", 2);
        AsyncResult mul = app.applyAsync("interop.py_mul", List.of(6, 7), Map.of(),
                SendOptions.builder().queue("py").build());
        assertThat(mul.get(Duration.ofSeconds(60))).isEqualTo(42);

        AsyncResult kw = app.applyAsync("interop.py_mul", List.of(), Map.of("x", "ab", "y", 3),
                SendOptions.builder().queue("py").priority(9).taskId("java-sent-1").build());
        assertThat(kw.get(Duration.ofSeconds(30))).isEqualTo("ababab");

        AsyncResult later = app.applyAsync("interop.py_mul", List.of(2, 21), Map.of(),
                SendOptions.builder().queue("py").countdown(Duration.ofSeconds(2)).build());
        assertThat(later.get(Duration.ofSeconds(30))).isEqualTo(42);

        AsyncResult fail = app.applyAsync("interop.py_fail", List.of("missing-key"), Map.of(),
                SendOptions.builder().queue("py").build());
        assertThatThrownBy(() -> fail.get(Duration.ofSeconds(30))).isInstanceOfSatisfying(TaskFailedException.class,
                e -> {
                    assertThat(e.excType()).isEqualTo("KeyError");
                    assertThat(e.excMessage()).contains("missing-key");
                });

        Map<String, Object> read = json.readValue(python.client("get", "java-sent-1"), Map.class);
        assertThat(read).containsEntry("state", "SUCCESS").containsEntry("result", "ababab");
    }

    /**
     * Celery's rpc:// backend both ways: results travel as messages to the caller's reply queue, written by our
     * worker for a Python caller and by a Python worker for ours.
     */
    @Test
    @SuppressWarnings("unchecked")
    void rpcResultsTravelBothWays() throws Exception {
        PythonCelery rpcPython = new PythonCelery(pythonBrokerUrl(), "rpc://",
                Map.of("INTEROP_LEDGER", REDIS.url(0), "INTEROP_QUEUE_MAX_PRIORITY", "10"));
        CeleriacConfig rpc = CeleriacConfig.builder().brokerUrl(RABBIT.url() + "?task_queue_max_priority=10")
                .resultBackend("rpc://").build();
        try (Celeriac rpcApp = Celeriac.builder().config(rpc).register(new InteropTasks(redis)).build()) {
            Worker javaWorker = rpcApp.worker().hostname("java-rpc@interop").queues("java").concurrency(4).start();
            try {
                Map<String, Object> seen = json.readValue(rpcPython.client("send-to-java"), Map.class);
                assertThat(seen.get("add")).isEqualTo(5);
                assertThat(seen.get("kwargs")).isEqualTo(42);
                assertThat(seen.get("countdown")).isEqualTo(2);
                assertThat(seen.get("custom_id")).isEqualTo(List.of("order-42-add", 15));
                Map<String, Object> boom = (Map<String, Object>) seen.get("boom");
                assertThat(boom.get("state")).isEqualTo("FAILURE");
                assertThat((String) boom.get("message")).contains("no such order");
            } finally {
                javaWorker.shutdown(Duration.ofSeconds(10));
            }

            pyWorker = rpcPython.worker("py", "py", 2);
            AsyncResult mul = rpcApp.applyAsync("interop.py_mul", List.of(6, 7), Map.of(),
                    SendOptions.builder().queue("py").build());
            assertThat(mul.get(Duration.ofSeconds(60))).isEqualTo(42);
            AsyncResult fail = rpcApp.applyAsync("interop.py_fail", List.of("missing-key"), Map.of(),
                    SendOptions.builder().queue("py").build());
            assertThatThrownBy(() -> fail.get(Duration.ofSeconds(30)))
                    .isInstanceOfSatisfying(TaskFailedException.class, e -> assertThat(e.excType()).isEqualTo("KeyError"));
        }
    }

    @Test
    void aPythonAndAJavaWorkerShareAQueueAndEachTaskRunsExactlyOnce() throws Exception {
        int n = 1000;
        pyWorker = python.worker("py-shared", "shared", 4);
        worker = app.worker().hostname("java@interop").queues("shared").concurrency(4).prefetchMultiplier(1)
                .start();
        // Half sent by our producer (one confirmed batch per 100), half by Python's.
        List<Signature> batch = new ArrayList<>();
        for (int i = 0; i < n / 2; i++) {
            batch.add(app.signature("interop.record", List.of(i), Map.of(),
                    SendOptions.builder().queue("shared").build()));
            if (batch.size() == 100) {
                app.sendAll(batch);
                batch.clear();
            }
        }
        python.client("send-records-from", Integer.toString(n / 2), Integer.toString(n), "shared");

        await().atMost(Duration.ofMinutes(3)).until(() -> redis.llen("interop:ran") >= n);
        // Give any duplicate a moment to show up before counting.
        await().pollDelay(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(5))
                .until(() -> redis.llen("interop:ran") >= n);
        List<String> ran = redis.lrange("interop:ran", 0, -1);
        Map<String, Integer> perTask = new HashMap<>();
        int byJava = 0;
        int byPython = 0;
        for (String line : ran) {
            String[] parts = line.split(":");
            perTask.merge(parts[1], 1, Integer::sum);
            if (parts[0].equals("java")) {
                byJava++;
            } else {
                byPython++;
            }
        }
        assertThat(ran).hasSize(n);
        assertThat(perTask).hasSize(n).allSatisfy((task, count) -> assertThat(count).isEqualTo(1));
        assertThat(byJava).as("tasks run by the Java worker").isPositive();
        assertThat(byPython).as("tasks run by the Python worker").isPositive();
        await().atMost(Duration.ofSeconds(10)).until(() -> app.broker().queueLength("shared") == 0);
    }

    @Test
    void celeryInspectPingAndActiveSeeOurWorker() throws Exception {
        worker = startJavaWorker("java");
        assertThat(python.celery("inspect", "ping", "-t", "3")).contains("java@interop: OK").contains("pong");

        RELEASE[0] = new CountDownLatch(1);
        AsyncResult held = app.applyAsync("interop.hold", List.of("x"), Map.of(),
                SendOptions.builder().queue("java").build());
        await().atMost(Duration.ofSeconds(10)).until(() -> !worker.active().isEmpty());
        String active = python.celery("inspect", "active", "-t", "3");
        assertThat(active).contains("java@interop: OK").contains(held.id()).contains("interop.hold");
        assertThat(python.celery("inspect", "stats", "-t", "3")).contains("java@interop: OK").contains("pid");
        RELEASE[0].countDown();
        assertThat(held.get(Duration.ofSeconds(10))).isEqualTo("x");

        String revoke = python.celery("control", "revoke", "some-task-id", "-t", "3");
        assertThat(revoke).contains("java@interop: OK").contains("flagged as revoked");
    }

    @Test
    void celeryEventsSeesOurWorkersHeartbeatsAndTaskEvents() throws Exception {
        File out = Files.createTempFile("evdump", ".txt").toFile();
        Process dump = python.celeryInBackground(out, "events", "--dump");
        try {
            worker = startJavaWorker("java");
            // Heartbeats every 2 s: the dumper sees our worker without any task running.
            await().atMost(Duration.ofSeconds(30)).until(() -> read(out).contains("java@interop")
                    && read(out).contains("heartbeat"));
            AsyncResult r = app.applyAsync("interop.add", List.of(20, 22), Map.of(),
                    SendOptions.builder().queue("java").build());
            assertThat(r.get(Duration.ofSeconds(10))).isEqualTo(42);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(read(out))
                    .contains("task received")
                    .contains("interop.add(" + r.id() + ") args=(20, 22)")
                    .contains("task started")
                    .contains("task succeeded")
                    .contains("result=42"));
        } finally {
            PythonCelery.stop(dump);
        }
    }

    /**
     * {@code control_exchange} and {@code event_exchange} moved off Celery's defaults on both sides: {@code celery
     * inspect} and {@code celery events} configured alike meet our worker, so the names we make from them are kombu's
     * ({@code ops.pidbox}, {@code reply.ops.pidbox}, {@code <node>.ops.pidbox}, exchange {@code ops.events}); Celery
     * left on the defaults does not reach it. Our queue TTL and expiry differ from Celery's here, which is allowed:
     * each side declares only its own queues.
     */
    @Test
    void onExchangesOffTheDefaultsCeleryInspectAndEventsMeetOurWorkerConfiguredAlike() throws Exception {
        PythonCelery opsPython = new PythonCelery(pythonBrokerUrl(), REDIS.url(1), Map.of("INTEROP_LEDGER",
                REDIS.url(0), "INTEROP_QUEUE_MAX_PRIORITY", "10", "INTEROP_CONTROL_EXCHANGE", "ops",
                "INTEROP_EVENT_EXCHANGE", "ops.events"));
        CeleriacConfig opsConfig = app.config().toBuilder().controlExchange("ops").eventExchange("ops.events")
                .controlQueueTtl(null).controlQueueExpires(Duration.ofSeconds(30)).eventQueueTtl(Duration.ofSeconds(2))
                .build();
        File out = Files.createTempFile("evdump-ops", ".txt").toFile();
        Process dump = opsPython.celeryInBackground(out, "events", "--dump");
        try (Celeriac ops = Celeriac.builder().config(opsConfig).register(new InteropTasks(redis), new HoldTasks())
                .build()) {
            Worker opsWorker = ops.worker().hostname("java-ops@interop").queues("java").concurrency(2)
                    .sendEvents(true).start();
            try {
                await().atMost(Duration.ofSeconds(30)).until(() -> read(out).contains("java-ops@interop")
                        && read(out).contains("heartbeat"));
                assertThat(opsPython.celery("inspect", "ping", "-t", "3")).contains("java-ops@interop: OK")
                        .contains("pong");
                assertThat(python.celery("inspect", "ping", "-t", "2")).doesNotContain("java-ops@interop");
            } finally {
                opsWorker.shutdown(Duration.ofSeconds(10));
            }
        } finally {
            PythonCelery.stop(dump);
        }
    }

    @Test
    void ourBroadcastReachesAPythonWorkerAndOurReceiverSeesItsEvents() throws Exception {
        List<Map<String, Object>> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (AutoCloseable sub = app.broker().eventBus().orElseThrow().subscribe(events::add)) {
            pyWorker = python.worker("pyw", "py", 1, "-E");
            String[] node = new String[1];
            await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
                List<Map<String, Object>> replies = app.broker().controlBus().orElseThrow().broadcastAndCollect(
                        ControlMessage.of("ping", Map.of()), Duration.ofSeconds(1));
                assertThat(replies).anySatisfy(reply -> assertThat(reply.keySet()).singleElement()
                        .satisfies(h -> assertThat(h).startsWith("pyw@")));
                node[0] = replies.stream().flatMap(r -> r.keySet().stream()).filter(h -> h.startsWith("pyw@"))
                        .findFirst().orElseThrow();
                assertThat(replies).contains(Map.of(node[0], Map.of("ok", "pong")));
            });
            AsyncResult mul = app.applyAsync("interop.py_mul", List.of(3, 4), Map.of(),
                    SendOptions.builder().queue("py").build());
            assertThat(mul.get(Duration.ofSeconds(30))).isEqualTo(12);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(events)
                    .anySatisfy(e -> assertThat(e).containsEntry("type", "worker-heartbeat")
                            .containsEntry("hostname", node[0]))
                    .anySatisfy(e -> assertThat(e).containsEntry("type", "task-succeeded")
                            .containsEntry("uuid", mul.id())));

            // A command for one node: only that node answers, and the collection ends with its answer.
            List<Map<String, Object>> stats = app.broker().controlBus().orElseThrow().broadcastAndCollect(
                    new ControlMessage("stats", Map.of(), List.of(node[0]), null, null), Duration.ofSeconds(5));
            assertThat(stats).singleElement().satisfies(r -> assertThat(r).containsKey(node[0]));
        }
    }

    @Test
    void ourEventsCommandsAndRepliesCarryWhatCelerysCarryOnTheWire() throws Exception {
        worker = startJavaWorker("java");
        pyWorker = python.worker("pywire", "py", 1, "-E");
        try (Connection raw = observer()) {
            Channel ch = raw.createChannel();
            // Bound as Celery binds: an event receiver's queue, a pidbox node's queue, and a caller's reply queue.
            ch.exchangeDeclare("celeryev", "topic", true, false, null);
            ch.exchangeDeclare("celery.pidbox", "fanout", false, false, null);
            ch.exchangeDeclare("reply.celery.pidbox", "direct", false, false, null);
            Map<String, Object> args = Map.of("x-message-ttl", 300_000, "x-expires", 10_000);
            ch.queueDeclare("wire.events", false, false, true, Map.of("x-message-ttl", 5_000, "x-expires", 60_000));
            ch.queueBind("wire.events", "celeryev", "worker.heartbeat");
            ch.queueDeclare("wire@observer.celery.pidbox", false, false, true, args);
            ch.queueBind("wire@observer.celery.pidbox", "celery.pidbox", "");
            ch.queueDeclare("wire.reply.celery.pidbox", false, false, true, args);
            ch.queueBind("wire.reply.celery.pidbox", "reply.celery.pidbox", "wire");

            // Events: a heartbeat from each worker.
            Map<String, GetResponse> heartbeats = new HashMap<>();
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                GetResponse r = ch.basicGet("wire.events", true);
                if (r != null) {
                    heartbeats.put(r.getProps().getHeaders().get("hostname").toString().startsWith("java@")
                            ? "java" : "python", r);
                }
                return heartbeats.size() == 2;
            });
            assertThat(shape(heartbeats.get("java"))).isEqualTo(shape(heartbeats.get("python")));
            assertThat(bodyKeys(heartbeats.get("java"))).containsAll(bodyKeys(heartbeats.get("python")));

            // Commands: Celery's `inspect ping`, then ours.
            python.celery("inspect", "ping", "-t", "1");
            GetResponse celerys = await().atMost(Duration.ofSeconds(5)).until(
                    () -> ch.basicGet("wire@observer.celery.pidbox", true), java.util.Objects::nonNull);
            app.broker().controlBus().orElseThrow().broadcastAndCollect(ControlMessage.of("ping", Map.of()),
                    Duration.ofMillis(200));
            GetResponse ours = await().atMost(Duration.ofSeconds(5)).until(
                    () -> ch.basicGet("wire@observer.celery.pidbox", true), java.util.Objects::nonNull);
            assertThat(shape(ours)).isEqualTo(shape(celerys));
            assertThat(bodyKeys(ours)).isEqualTo(bodyKeys(celerys));

            // Replies: both workers answer a ping whose reply_to names the observer's queue.
            String ping = "{\"method\": \"ping\", \"arguments\": {}, \"destination\": null, \"pattern\": null, "
                    + "\"matcher\": null, \"ticket\": \"t-1\", \"reply_to\": {\"exchange\": \"reply.celery.pidbox\", "
                    + "\"routing_key\": \"wire\"}}";
            ch.basicPublish("celery.pidbox", "", celerys.getProps(), ping.getBytes(StandardCharsets.UTF_8));
            Map<String, GetResponse> replies = new HashMap<>();
            await().atMost(Duration.ofSeconds(10)).until(() -> {
                GetResponse r = ch.basicGet("wire.reply.celery.pidbox", true);
                if (r != null) {
                    replies.put(new String(r.getBody(), StandardCharsets.UTF_8).contains("java@") ? "java" : "python",
                            r);
                }
                return replies.size() == 2;
            });
            assertThat(shape(replies.get("java"))).isEqualTo(shape(replies.get("python")));
        }
    }

    @Test
    void ourTaskMessagesCarryWhatCelerysCarryOnTheWire() throws Exception {
        app.broker().declare(List.of("wire"));
        app.applyAsync("interop.add", List.of(1, 2), Map.of(), SendOptions.builder().queue("wire").build());
        python.client("send-add", "wire");
        try (Connection raw = observer()) {
            Channel ch = raw.createChannel();
            GetResponse ours = ch.basicGet("wire", true);
            GetResponse celerys = ch.basicGet("wire", true);
            assertThat(ours).isNotNull();
            assertThat(celerys).isNotNull();
            assertThat(taskShape(ours)).isEqualTo(taskShape(celerys));
        }
    }

    /** A task message's shape: fixed properties by value, the others by presence, headers by AMQP type. */
    private static Map<String, Object> taskShape(GetResponse r) {
        Map<String, Object> m = shape(r);
        for (String k : List.of("correlation_id", "reply_to", "message_id", "timestamp", "expiration")) {
            m.put(k, m.get(k) == null ? "absent" : "set");
        }
        AMQP.BasicProperties p = r.getProps();
        Map<String, String> headers = new java.util.TreeMap<>();
        p.getHeaders().forEach((k, v) -> headers.put(k, typeOf(v)));
        m.put("headers", headers);
        return m;
    }

    /** An AMQP field value's type, and its elements' for arrays. */
    private static String typeOf(Object v) {
        if (v == null) {
            return "void";
        }
        if (v instanceof LongString) {
            return "S";
        }
        if (v instanceof List<?> l) {
            return "[" + String.join(",", l.stream().map(CeleryAmqpInteropIT::typeOf).toList()) + "]";
        }
        return v.getClass().getSimpleName();
    }

    /** What a message carries besides its body: exchange, routing key, properties, header names and AMQP types. */
    private static Map<String, Object> shape(GetResponse r) {
        AMQP.BasicProperties p = r.getProps();
        Map<String, Object> m = new java.util.TreeMap<>();
        m.put("exchange", r.getEnvelope().getExchange());
        m.put("routing_key", r.getEnvelope().getRoutingKey().startsWith("worker.") ? r.getEnvelope().getRoutingKey()
                : r.getEnvelope().getRoutingKey().isEmpty() ? "" : "<key>");
        m.put("content_type", p.getContentType());
        m.put("content_encoding", p.getContentEncoding());
        m.put("delivery_mode", p.getDeliveryMode());
        m.put("priority", p.getPriority());
        m.put("correlation_id", p.getCorrelationId());
        m.put("reply_to", p.getReplyTo());
        m.put("expiration", p.getExpiration());
        m.put("message_id", p.getMessageId());
        m.put("timestamp", p.getTimestamp());
        m.put("type", p.getType());
        m.put("app_id", p.getAppId());
        Map<String, String> headers = new java.util.TreeMap<>();
        if (p.getHeaders() != null) {
            p.getHeaders().forEach((k, v) -> headers.put(k, v == null ? "void" : v instanceof LongString ? "S"
                    : v.getClass().getSimpleName()));
        }
        m.put("headers", headers);
        return m;
    }

    @SuppressWarnings("unchecked")
    private java.util.Set<String> bodyKeys(GetResponse r) throws java.io.IOException {
        return json.readValue(r.getBody(), Map.class).keySet();
    }

    /** A plain client connection of the test's own (guest, vhost /). */
    private static Connection observer() throws Exception {
        ConnectionFactory f = new ConnectionFactory();
        f.setHost("127.0.0.1");
        f.setPort(RABBIT.port());
        return f.newConnection("test-observer");
    }

    private static String read(File f) throws java.io.IOException {
        return Files.readString(f.toPath());
    }
}
