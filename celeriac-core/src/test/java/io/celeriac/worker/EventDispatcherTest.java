package io.celeriac.worker;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class EventDispatcherTest {
    @Test
    void workerAndTaskEventsInCelerysShape() throws Exception {
        TestTasks.reset();
        try (InMemoryBroker broker = new InMemoryBroker()) {
            List<Map<String, Object>> events = new CopyOnWriteArrayList<>();
            broker.eventBus().orElseThrow().subscribe(events::add);
            Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().hostname("ev@test").build())
                    .broker(broker).register(new TestTasks()).build();
            Worker worker = app.worker().sendEvents(true).start();
            AsyncResult ok = app.task("t.add").delay(2, 3);
            AsyncResult bad = app.task("t.boom").delay("x");
            ok.get(Duration.ofSeconds(10));
            await().atMost(Duration.ofSeconds(10)).until(() -> bad.ready());
            await().atMost(Duration.ofSeconds(10)).until(() -> events.stream()
                    .anyMatch(e -> "task-failed".equals(e.get("type"))));
            worker.shutdown(Duration.ofSeconds(5));

            assertThat(events.get(0)).containsEntry("type", "worker-online").containsEntry("hostname", "ev@test")
                    .containsEntry("freq", 2.0).containsEntry("sw_ident", "celeriac").containsKeys("pid", "clock",
                            "timestamp", "loadavg", "utcoffset", "active", "processed", "sw_ver", "sw_sys");
            assertThat(events.get(events.size() - 1)).containsEntry("type", "worker-offline")
                    .containsEntry("processed", 2L);
            Map<String, Object> received = find(events, "task-received", ok.id());
            assertThat(received).containsEntry("name", "t.add").containsEntry("args", "(2, 3)")
                    .containsEntry("kwargs", "{}").containsEntry("retries", 0).containsEntry("root_id", ok.id());
            assertThat(find(events, "task-started", ok.id())).containsKey("timestamp");
            assertThat(find(events, "task-succeeded", ok.id())).containsEntry("result", "5")
                    .hasEntrySatisfying("runtime", v -> assertThat((Double) v).isPositive().isLessThan(10.0));
            Map<String, Object> failed = find(events, "task-failed", bad.id());
            assertThat(failed).containsEntry("exception", "IllegalStateException('x')");
            assertThat((String) failed.get("traceback")).contains("IllegalStateException");
            // Lamport clock strictly increases.
            List<Long> clocks = events.stream().map(e -> ((Number) e.get("clock")).longValue()).toList();
            assertThat(clocks).isSorted().doesNotHaveDuplicates();
        }
    }

    /**
     * Task events come in faster than the 100 ms tick under load: a full batch is sent at once rather than growing
     * into one message of megabytes. Here no tick is scheduled (the worker never became ready), so only a full batch
     * can send; the rest goes with the stop. Every event is sent once, in clock order.
     */
    @Test
    void aFullBatchOfTaskEventsIsSentWithoutWaitingForTheTick() throws Exception {
        List<Object> messages = new CopyOnWriteArrayList<>();
        FaultyBroker broker = new FaultyBroker(new InMemoryBroker());
        broker.events = new io.celeriac.broker.EventBus() {
            @Override
            public void publish(String routingKey, String hostname, Object body) {
                if (routingKey.equals("task.multi")) {
                    messages.add(List.copyOf((List<?>) body));
                }
            }

            @Override
            public AutoCloseable subscribe(java.util.function.Consumer<Map<String, Object>> listener) {
                return () -> { };
            }
        };
        EventDispatcher events = new EventDispatcher(broker, "batch@test", java.time.Clock.systemUTC());
        int n = 3 * EventDispatcher.BATCH + 10;
        for (int i = 0; i < n; i++) {
            events.taskStarted(new io.celeriac.task.TaskRequest("id-" + i, "t.add", List.of(), Map.of(), 0, null,
                    null, null, null, null, "batch@test", "", "celery", "celery", Map.of()));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !messages.isEmpty());
        events.workerStopped(null);
        List<String> ids = messages.stream().flatMap(m -> ((List<?>) m).stream())
                .map(e -> (String) ((Map<?, ?>) e).get("uuid")).toList();
        assertThat(ids).hasSize(n).doesNotHaveDuplicates();
        List<Long> clocks = messages.stream().flatMap(m -> ((List<?>) m).stream())
                .map(e -> ((Number) ((Map<?, ?>) e).get("clock")).longValue()).toList();
        assertThat(clocks).isSorted();
        broker.inner.close();
    }

    /**
     * Task events are built on the events thread when a batch is sent. One that cannot be built (an argument whose
     * toString throws) is dropped alone: the events beside it go, and the 100 ms tick keeps sending afterwards (a
     * scheduled executor cancels a periodic job that throws).
     */
    @Test
    void aTaskEventThatCannotBeBuiltIsDroppedAloneAndTheTickGoesOn() throws Exception {
        List<Map<String, Object>> sent = new CopyOnWriteArrayList<>();
        FaultyBroker broker = new FaultyBroker(new InMemoryBroker());
        broker.events = new io.celeriac.broker.EventBus() {
            @Override
            @SuppressWarnings("unchecked")
            public void publish(String routingKey, String hostname, Object body) {
                if (routingKey.equals("task.multi")) {
                    sent.addAll((List<Map<String, Object>>) body);
                }
            }

            @Override
            public AutoCloseable subscribe(java.util.function.Consumer<Map<String, Object>> listener) {
                return () -> { };
            }
        };
        Object unprintable = new Object() {
            @Override
            public String toString() {
                throw new IllegalStateException("no repr");
            }
        };
        EventDispatcher events = new EventDispatcher(broker, "drop@test", java.time.Clock.systemUTC());
        events.workerReady(null);
        try {
            events.taskStarted(request("before", List.of()));
            events.taskReceived(request("bad", List.of(1, unprintable)));
            events.taskReceived(request("beside", List.of(2.5, "x")));
            await().atMost(Duration.ofSeconds(5)).until(() -> sent.size() >= 2);
            events.taskStarted(request("after", List.of()));
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> sent.stream().anyMatch(e -> "after".equals(e.get("uuid"))));
        } finally {
            events.workerStopped(null);
        }
        assertThat(sent).extracting(e -> e.get("uuid")).containsExactly("before", "beside", "after");
        assertThat(find(sent, "task-received", "beside")).containsEntry("args", "(2.5, 'x')");
        broker.inner.close();
    }

    private static io.celeriac.task.TaskRequest request(String id, List<Object> args) {
        return new io.celeriac.task.TaskRequest(id, "t.add", args, Map.of(), 0, null, null, null, null, null,
                "drop@test", "", "celery", "celery", Map.of());
    }

    /** No worker here knows the task: its task-rejected event still says what was asked for, so monitors name it. */
    @Test
    void anUnregisteredTaskIsRejectedWithItsNameAndArguments() throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker()) {
            List<Map<String, Object>> events = new CopyOnWriteArrayList<>();
            broker.eventBus().orElseThrow().subscribe(events::add);
            Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().hostname("rj@test").build())
                    .broker(broker).register(new TestTasks()).build();
            Worker worker = app.worker().sendEvents(true).start();
            try {
                AsyncResult unknown = app.applyAsync("nobody.knows", List.of(7, "x"), Map.of("k", true),
                        io.celeriac.task.SendOptions.none());
                await().atMost(Duration.ofSeconds(10)).until(() -> events.stream()
                        .anyMatch(e -> "task-rejected".equals(e.get("type"))));

                Map<String, Object> rejected = find(events, "task-rejected", unknown.id());
                assertThat(rejected).containsEntry("name", "nobody.knows").containsEntry("args", "(7, 'x')")
                        .containsEntry("kwargs", "{'k': True}").containsEntry("routing_key", "celery")
                        .containsEntry("requeue", false).containsEntry("root_id", unknown.id())
                        .containsKeys("timestamp", "hostname", "clock");
                assertThat((String) rejected.get("reason")).contains("unregistered task").contains("nobody.knows");
            } finally {
                worker.shutdown(Duration.ofSeconds(5));
                app.close();
            }
        }
    }

    /** Celery's {@code heartbeat} command ({@code celery events} sends it on start): a heartbeat now, not in 2 s. */
    @Test
    void theHeartbeatCommandSendsAHeartbeatAtOnce() throws Exception {
        try (InMemoryBroker broker = new InMemoryBroker()) {
            List<Map<String, Object>> events = new CopyOnWriteArrayList<>();
            broker.eventBus().orElseThrow().subscribe(events::add);
            Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().hostname("hb@test").build())
                    .broker(broker).register(new TestTasks()).build();
            Worker worker = app.worker().sendEvents(true).start();
            try {
                await().atMost(Duration.ofSeconds(5)).until(() -> events.stream()
                        .anyMatch(e -> "worker-online".equals(e.get("type"))));
                // Six asked for one after the other: the schedule alone (every 2 s) sends at most three in 5 s.
                for (int i = 1; i <= 6; i++) {
                    broker.controlBus().orElseThrow().broadcast(io.celeriac.control.ControlMessage.of("heartbeat",
                            Map.of()));
                    int atLeast = i;
                    await().atMost(Duration.ofSeconds(5)).until(() -> events.stream()
                            .filter(e -> "worker-heartbeat".equals(e.get("type"))).count() >= atLeast);
                }
                assertThat(events.stream().filter(e -> "worker-heartbeat".equals(e.get("type"))).count())
                        .isGreaterThanOrEqualTo(6);
            } finally {
                worker.shutdown(Duration.ofSeconds(5));
                app.close();
            }
        }
    }

    private static Map<String, Object> find(List<Map<String, Object>> events, String type, String id) {
        return events.stream().filter(e -> type.equals(e.get("type")) && id.equals(e.get("uuid"))).findFirst()
                .orElseThrow(() -> new AssertionError("no " + type + " for " + id + " in " + events));
    }
}
