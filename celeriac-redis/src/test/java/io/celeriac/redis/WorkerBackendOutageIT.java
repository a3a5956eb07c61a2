package io.celeriac.redis;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultDocument;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.redis.testing.SlowTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Signature;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The result backend's Redis goes away for about five seconds while an acks-late worker runs tasks on another Redis:
 * the worker acks nothing whose result is not stored, holds no more than its prefetch window meanwhile, and once the
 * backend is back every task has its result and nothing is left unacked.
 */
class WorkerBackendOutageIT {
    @RegisterExtension
    static final RedisServerExtension BROKER = new RedisServerExtension();
    @RegisterExtension
    static final RedisServerExtension BACKEND = new RedisServerExtension();

    private static final int TASKS = 60;
    private static final int CONCURRENCY = 2;
    private static final int MULTIPLIER = 2;
    private static final int WINDOW = CONCURRENCY * MULTIPLIER;

    /** The real Redis backend, recording which results it has confirmed storing. */
    static final class RecordingBackend implements ResultBackend {
        final RedisResultBackend inner;
        final Set<String> stored = ConcurrentHashMap.newKeySet();
        final AtomicInteger asyncCalls = new AtomicInteger();

        RecordingBackend(RedisResultBackend inner) {
            this.inner = inner;
        }

        @Override
        public void store(List<ResultDocument> documents) {
            inner.store(documents);
            documents.forEach(d -> stored.add(d.taskId()));
        }

        /** The worker's own path for final results: several batches under way, each recorded once confirmed. */
        @Override
        public java.util.concurrent.CompletableFuture<Void> storeAsync(List<ResultDocument> documents) {
            asyncCalls.incrementAndGet();
            return inner.storeAsync(documents).thenRun(() -> documents.forEach(d -> stored.add(d.taskId())));
        }

        @Override
        public Optional<ResultDocument> get(String taskId) {
            return inner.get(taskId);
        }

        @Override
        public Optional<ResultDocument> await(String taskId, Duration timeout) throws InterruptedException {
            return inner.await(taskId, timeout);
        }

        @Override
        public void forget(Collection<String> taskIds) {
            inner.forget(taskIds);
        }

        @Override
        public void close() {
            inner.close();
        }
    }

    @Test
    void aBackendOutageHoldsBackAcksAndWorkButLosesNothing() throws Exception {
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(BROKER.url(0)).acksLate(true)
                .hostname("outage@test").build();
        RecordingBackend backend = new RecordingBackend(new RedisResultBackend(BACKEND.url(0), config));
        try (Celeriac app = Celeriac.builder().config(config).resultBackend(backend).register(new SlowTasks())
                .build()) {
            RedisBroker broker = (RedisBroker) app.broker();
            broker.purge("celery");
            List<Signature> sigs = new ArrayList<>();
            for (int i = 0; i < TASKS; i++) {
                sigs.add(app.signature("slow.work", i, 40));
            }
            List<AsyncResult> results = app.sendAll(sigs);
            Worker worker = app.worker().concurrency(CONCURRENCY).prefetchMultiplier(MULTIPLIER).start();

            List<String> violations = new CopyOnWriteArrayList<>();
            AtomicLong maxUnacked = new AtomicLong();
            AtomicInteger samples = new AtomicInteger();
            Thread sampler = new Thread(() -> {
                while (!Thread.currentThread().isInterrupted()) {
                    try {
                        // In this order, acked is never over-counted: a message moving from the queue to unacked
                        // between the reads is seen twice, and an ack seen here was preceded by its store.
                        long queued = broker.queueLength("celery");
                        long unacked = broker.unackedCount();
                        int stored = backend.stored.size();
                        int inFlight = worker.inFlight();
                        long acked = TASKS - queued - unacked;
                        samples.incrementAndGet();
                        maxUnacked.accumulateAndGet(unacked, Math::max);
                        if (unacked > WINDOW || inFlight > WINDOW) {
                            violations.add("held more than the window: unacked " + unacked + ", in flight " + inFlight);
                        }
                        if (acked > stored) {
                            violations.add(acked + " acked but only " + stored + " results stored");
                        }
                        Thread.sleep(5);
                    } catch (InterruptedException e) {
                        return;
                    } catch (RuntimeException brokerHiccup) {
                        // Only the backend goes down; keep sampling.
                    }
                }
            }, "test-sampler");
            sampler.start();
            try {
                await().atMost(Duration.ofSeconds(60)).until(() -> backend.stored.size() >= 10);

                // Saved first, so what was stored before the outage is still there after it.
                shutdownSaving(BACKEND.port());
                int storedAtOutage = backend.stored.size();
                int samplesAtOutage = samples.get();
                // The worker runs what its window holds, then waits with every permit taken.
                await().atMost(Duration.ofSeconds(30)).until(() -> worker.inFlight() == WINDOW);
                Thread.sleep(5000);
                assertThat(backend.stored).hasSize(storedAtOutage);
                assertThat(broker.queueLength("celery")).as("nothing more taken while the backend is down")
                        .isEqualTo(TASKS - storedAtOutage - WINDOW);
                assertThat(samples.get()).isGreaterThan(samplesAtOutage);
                BACKEND.start();

                for (int i = 0; i < TASKS; i++) {
                    AsyncResult r = results.get(i);
                    // Reading may fail for a moment while this client reconnects to the restarted backend.
                    Object value = await().atMost(Duration.ofSeconds(60)).ignoreExceptions()
                            .until(() -> r.get(Duration.ofSeconds(5)), v -> v != null);
                    assertThat(value).isEqualTo(i);
                }
                await().atMost(Duration.ofSeconds(30)).until(() -> broker.unackedCount() == 0
                        && worker.inFlight() == 0);
                assertThat(broker.queueLength("celery")).isZero();
            } finally {
                sampler.interrupt();
                sampler.join();
                worker.shutdown(Duration.ofSeconds(5));
                BACKEND.start();
            }
            assertThat(violations).isEmpty();
            assertThat(maxUnacked.get()).isEqualTo(WINDOW);
            assertThat(backend.asyncCalls.get()).as("final results went through storeAsync").isPositive();
        } finally {
            backend.close();
        }
    }

    /** {@code SHUTDOWN SAVE}: Redis writes its data to disk and exits; a restart in the same directory loads it. */
    private static void shutdownSaving(int port) throws Exception {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write("SHUTDOWN SAVE\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            // The server closes the connection once it has saved and is exiting.
            while (in.read() >= 0) {
                // drain
            }
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> !answers(port));
    }

    private static boolean answers(int port) {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            return true;
        } catch (Exception e) {
            return false;
        }
    }
}
