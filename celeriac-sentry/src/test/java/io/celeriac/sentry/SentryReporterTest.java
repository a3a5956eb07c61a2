package io.celeriac.sentry;

import com.sun.net.httpserver.HttpServer;
import io.celeriac.Celeriac;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.worker.Worker;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.zip.GZIPInputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

/** Against a local HTTP endpoint standing in for Sentry's ingest. */
class SentryReporterTest {
    @Test
    void eachFailureIsCapturedOnceAfterTheLastRetryWithScrubbedArguments() throws Exception {
        List<String> envelopes = new CopyOnWriteArrayList<>();
        HttpServer ingest = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        ingest.createContext("/", exchange -> {
            envelopes.add(body(exchange.getRequestBody(), exchange.getRequestHeaders().getFirst("Content-Encoding")));
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        ingest.start();
        TestTasks.reset();
        try (InMemoryBroker broker = new InMemoryBroker()) {
            String dsn = "http://publickey@127.0.0.1:" + ingest.getAddress().getPort() + "/42";
            SentryReporter reporter = SentryReporter.init(dsn);
            Celeriac app = Celeriac.builder().broker(broker).register(new TestTasks()).build();
            Worker worker = app.worker().hostname("sentry@test").listener(reporter).start();

            AsyncResult exhausted = app.task("t.flaky").delay(100);     // fails 6 times: 5 retries, then FAILURE
            AsyncResult recovered = app.task("t.flaky").delay(1);       // one retry, then success: not reported
            AsyncResult boom = app.applyAsync("t.boom", List.of("card 4111"), Map.of(), SendOptions.none());
            catchThrowable(() -> exhausted.get(Duration.ofSeconds(20)));
            recovered.get(Duration.ofSeconds(20));
            catchThrowable(() -> boom.get(Duration.ofSeconds(20)));
            reporter.flush(Duration.ofSeconds(5));
            await().atMost(Duration.ofSeconds(10)).until(() -> events(envelopes).size() >= 2);
            worker.shutdown(Duration.ofSeconds(5));

            List<String> events = events(envelopes);
            assertThat(events).hasSize(2);
            assertThat(events).anySatisfy(e -> assertThat(e).contains(exhausted.id()).contains("t.flaky")
                    .contains("FlakyError").contains("\"celery.retries\":\"5\"").contains("sentry@test"));
            assertThat(events).anySatisfy(e -> assertThat(e).contains(boom.id()).contains("IllegalStateException"));
            assertThat(String.join("\n", events)).doesNotContain(recovered.id());
        } finally {
            ingest.stop(0);
        }
    }

    @Test
    void secretsInKeywordArgumentsAreFiltered() {
        assertThat(SentryReporter.scrubKwargs(Map.of("password", "hunter2", "user", "ada",
                "nested", Map.of("api_key", "k", "x", 1))))
                .containsEntry("password", "[Filtered]").containsEntry("user", "ada")
                .containsEntry("nested", Map.of("api_key", "[Filtered]", "x", 1));
    }

    private static List<String> events(List<String> envelopes) {
        return envelopes.stream().filter(e -> e.contains("\"type\":\"event\"")).toList();
    }

    private static String body(InputStream in, String encoding) throws IOException {
        byte[] raw = in.readAllBytes();
        if ("gzip".equalsIgnoreCase(encoding)) {
            raw = new GZIPInputStream(new ByteArrayInputStream(raw)).readAllBytes();
        }
        return new String(raw, StandardCharsets.UTF_8);
    }
}
