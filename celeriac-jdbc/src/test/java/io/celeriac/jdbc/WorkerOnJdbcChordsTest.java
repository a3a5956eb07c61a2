package io.celeriac.jdbc;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.canvas.CanvasTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskFailedException;
import io.celeriac.worker.Worker;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * Chords end to end with their parts counted in H2 through {@link JdbcResultBackend}: two workers finish the header
 * parts side by side, the body runs once with the results in header order, and the chord's rows are gone afterwards.
 */
class WorkerOnJdbcChordsTest {
    private static final Duration WAIT = Duration.ofSeconds(30);

    private InMemoryBroker broker;
    private JdbcDataSource dataSource;
    private JdbcResultBackend backend;
    private final List<Worker> workers = new ArrayList<>();

    @BeforeEach
    void setUp() {
        CanvasTasks.reset();
        broker = new InMemoryBroker();
        dataSource = new JdbcDataSource();
        dataSource.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        backend = new JdbcResultBackend(dataSource, Duration.ofHours(1), Clock.systemUTC());
    }

    @AfterEach
    void tearDown() {
        workers.forEach(Worker::shutdownNow);
        backend.close();
        broker.close();
    }

    private Celeriac app(String hostname) {
        return Celeriac.builder().config(CeleriacConfig.builder().hostname(hostname).build()).broker(broker)
                .resultBackend(backend).register(new CanvasTasks()).build();
    }

    private Worker start(Celeriac app) {
        Worker w = app.worker().concurrency(4).prefetchMultiplier(4).start();
        workers.add(w);
        return w;
    }

    private long rows(String table) throws SQLException {
        try (Connection c = dataSource.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private long ran(String task) {
        return workers.stream().mapToLong(w -> w.processed().getOrDefault(task, 0L)).sum();
    }

    @Test
    void aChordOnTwoWorkersRunsItsBodyOnceWithEveryResultInHeaderOrder() throws Exception {
        Celeriac app = app("one@jdbc");
        start(app);
        start(app("two@jdbc"));
        List<Canvas> header = new ArrayList<>();
        List<Object> expected = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            header.add(app.signature("c.add", i, 1000));
            expected.add(i + 1000);
        }

        AsyncResult body = Canvas.chord(header, app.signature("c.collect")).applyAsync();

        assertThat(body.get(WAIT)).isEqualTo(expected);
        await().atMost(WAIT).until(() -> ran("c.add") == 100 && ran("c.collect") == 1);
        // Both workers took part, and once the body was sent the chord's rows were deleted.
        assertThat(workers).allSatisfy(w -> assertThat(w.processed().get("c.add")).isPositive());
        await().atMost(WAIT).until(() -> rows("celeriac_chord") == 0 && rows("celeriac_chord_part") == 0);
        assertThat(ran("c.collect")).isEqualTo(1);
    }

    @Test
    void aFailedPartFailsTheBodyWithChordErrorAndCallsItsErrback() {
        Celeriac app = app("one@jdbc");
        Worker w = start(app);
        Signature body = app.signature("c.tsum").linkError(app.signature("c.record", "chord-errback"));

        AsyncResult r = Canvas.chord(List.of(app.signature("c.add", 1, 1), app.signature("c.boom", 7),
                app.signature("c.add", 2, 2)), body).applyAsync();

        assertThatThrownBy(() -> r.get(WAIT)).isInstanceOf(TaskFailedException.class)
                .hasMessageContaining("ChordError")
                .hasMessageContaining("raised IllegalStateException('boom 7')");
        await().atMost(WAIT).until(() -> CanvasTasks.SEEN.containsKey("chord-errback"));
        assertThat(CanvasTasks.SEEN.get("chord-errback")).containsExactly(r.id());
        assertThat(w.processed()).doesNotContainKey("c.tsum");
    }

    @Test
    void chordsInsideChainsAndChordsCompleteToo() {
        Celeriac app = app("one@jdbc");
        start(app);
        // A chord whose body is a chain, inside a chain: (3 + 7) + 100, then + 1000.
        AsyncResult chained = Canvas.chain(
                Canvas.chord(List.of(app.signature("c.add", 1, 2), app.signature("c.add", 3, 4)),
                        Canvas.chain(app.signature("c.tsum"), app.signature("c.add", 100))),
                app.signature("c.add", 1000)).applyAsync();
        assertThat(chained.get(WAIT)).isEqualTo(1110);
        // A chord in a chord's header: its body counts as the part.
        AsyncResult nested = Canvas.chord(List.of(
                Canvas.chord(List.of(app.signature("c.add", 1, 1), app.signature("c.add", 2, 2)),
                        app.signature("c.tsum")),
                app.signature("c.add", 10, 10)), app.signature("c.collect")).applyAsync();
        assertThat(nested.get(WAIT)).isEqualTo(List.of(6, 20));
    }
}
