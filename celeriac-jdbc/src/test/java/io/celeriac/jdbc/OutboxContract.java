package io.celeriac.jdbc;

import io.celeriac.Celeriac;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.BrokerWithoutOnceDispatch;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/**
 * The outbox on a database: a send inside a transaction is a row of it, and the relay publishes what was committed,
 * in order, once. Run against H2, PostgreSQL and MariaDB.
 */
abstract class OutboxContract {
    /** A data source on an empty schema. */
    abstract DataSource dataSource();

    private DataSource ds;
    private JdbcOutbox outbox;
    private InMemoryBroker broker;
    private Celeriac app;
    private final List<AutoCloseable> closing = new ArrayList<>();

    @BeforeEach
    void setUp() {
        ds = dataSource();
        outbox = JdbcOutbox.create(ds);
        broker = new InMemoryBroker();
        app = Celeriac.builder().broker(broker).register(new TestTasks()).sendInterceptor(outbox.interceptor())
                .build();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        broker.close();
    }

    /** Runs {@code work} in a transaction on a connection of {@link #ds}, and commits or rolls back. */
    private <T> T transaction(boolean commit, Function<Connection, T> work) {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            T result = outbox.within(c, () -> work.apply(c));
            if (commit) {
                c.commit();
            } else {
                c.rollback();
            }
            return result;
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private List<String> drain(String queue) throws InterruptedException {
        List<String> ids = new ArrayList<>();
        List<Delivery> got;
        while (!(got = broker.reserve(List.of(queue), 100, Duration.ofMillis(50))).isEmpty()) {
            for (Delivery d : got) {
                TaskMessage m = app.codec().decode(d.message());
                ids.add(m.id());
            }
            broker.ack(got);
        }
        return ids;
    }

    @Test
    void aRolledBackSendLeavesNoRowAndSendsNothing() {
        AsyncResult r = transaction(false, c -> app.task("t.add").delay(1, 2));

        assertThat(r.id()).isNotBlank();
        assertThat(outbox.pending()).isZero();
        assertThat(outbox.relay(broker).build().relayBatch()).isZero();
        assertThat(broker.queueLength("celery")).isZero();
    }

    @Test
    void committedSendsWaitInTheTableUntilTheRelayPublishesThemInOrder() throws Exception {
        List<String> sent = transaction(true, c -> {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                ids.add(app.task("t.add").delay(i, i).id());
            }
            return ids;
        });
        assertThat(broker.queueLength("celery")).isZero();
        assertThat(outbox.pending()).isEqualTo(5);

        OutboxRelay relay = outbox.relay(broker).batchSize(3).build();
        assertThat(relay.relayBatch()).isEqualTo(3);
        assertThat(relay.relayBatch()).isEqualTo(2);
        assertThat(relay.relayBatch()).isZero();

        assertThat(drain("celery")).containsExactlyElementsOf(sent);
        assertThat(outbox.pending()).isZero();
        assertThat(relay.published()).isEqualTo(5);
    }

    @Test
    void theRelayedMessageIsTheOneTheSendBuilt() throws Exception {
        AsyncResult r = transaction(true, c -> app.applyAsync("t.add", List.of(1), Map.of("y", 2),
                SendOptions.builder().queue("fast").priority(7).taskId("order-9-add").header("x-tenant", "acme")
                        .build()));
        outbox.relay(broker).build().relayBatch();

        List<Delivery> got = broker.reserve(List.of("fast"), 1, Duration.ofSeconds(1));
        TaskMessage m = app.codec().decode(got.get(0).message());
        assertThat(m.id()).isEqualTo(r.id()).isEqualTo("order-9-add");
        assertThat(m.task()).isEqualTo("t.add");
        assertThat(m.args()).containsExactly(1);
        assertThat(m.kwargs()).containsEntry("y", 2);
        assertThat(m.priority()).isEqualTo(7);
        assertThat(m.extraHeaders()).containsEntry("x-tenant", "acme");
    }

    @Test
    void sendsOutsideATransactionOfTheOutboxGoOutAtOnce() {
        app.task("t.add").delay(1, 2);

        assertThat(broker.queueLength("celery")).isEqualTo(1);
        assertThat(outbox.pending()).isZero();
    }

    @Test
    void aRowQueuedByARelayThatDiedBeforeItsDeleteIsNotQueuedAgain() throws Exception {
        List<String> sent = transaction(true, c -> List.of(app.task("t.add").delay(1, 1).id(),
                app.task("t.add").delay(2, 2).id(), app.task("t.add").delay(3, 3).id()));
        // What a relay killed after the broker's confirm of the second row, and before its commit, left behind: the
        // message queued under the row's once key, and the row still in the table.
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT once_key, keep_seconds, message FROM celeriac_outbox WHERE task_id = ?")) {
            ps.setString(1, sent.get(1));
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString(1)).startsWith(JdbcOutbox.KEY_PREFIX);
                assertThat(broker.onceDispatch().orElseThrow().publishOnce(rs.getString(1),
                        Duration.ofSeconds(rs.getLong(2)), outbox.codec().decode(rs.getString(3)))).isTrue();
            }
        }

        OutboxRelay relay = outbox.relay(broker).build();
        assertThat(relay.relayBatch()).isEqualTo(3);

        assertThat(drain("celery")).containsExactly(sent.get(1), sent.get(0), sent.get(2));
        assertThat(relay.published()).isEqualTo(2);
        assertThat(relay.duplicates()).isEqualTo(1);
        assertThat(outbox.pending()).isZero();
    }

    @Test
    void aTaskIdSentTwiceOnPurposeIsRelayedTwice() throws Exception {
        SendOptions sameId = SendOptions.builder().taskId("report-2026-11").build();
        transaction(true, c -> app.applyAsync("t.add", List.of(1, 2), Map.of(), sameId));
        transaction(true, c -> app.applyAsync("t.add", List.of(1, 2), Map.of(), sameId));

        outbox.relay(broker).build().relayBatch();

        assertThat(drain("celery")).containsExactly("report-2026-11", "report-2026-11");
    }

    @Test
    void aUniqueTaskIsRelayedUnderItsOwnKeyAndDroppedWhileOneIsPending() throws Exception {
        SendOptions unique = SendOptions.builder().taskId("order-7-mail").unique(true).build();
        transaction(true, c -> app.applyAsync("t.add", List.of(1, 2), Map.of(), unique));
        transaction(true, c -> app.applyAsync("t.add", List.of(1, 2), Map.of(), unique)); // a double submit

        OutboxRelay relay = outbox.relay(broker).build();
        assertThat(relay.relayBatch()).isEqualTo(2);

        assertThat(drain("celery")).containsExactly("order-7-mail");
        assertThat(relay.duplicates()).isEqualTo(1);
    }

    @Test
    void anUnreadableRowIsParkedAndTheRowsAfterItGoOn() throws Exception {
        String first = transaction(true, c -> app.task("t.add").delay(1, 1).id());
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("INSERT INTO "
                + "celeriac_outbox (once_key, keep_seconds, task_id, message, created_at) VALUES (?, 60, ?, ?, ?)")) {
            ps.setString(1, JdbcOutbox.KEY_PREFIX + "bad");
            ps.setString(2, "bad");
            ps.setString(3, "{not json");
            JdbcScheduleStore.setInstant(ps, 4, java.time.Instant.now());
            ps.executeUpdate();
        }
        String last = transaction(true, c -> app.task("t.add").delay(2, 2).id());

        OutboxRelay relay = outbox.relay(broker).build();
        assertThat(relay.relayBatch()).isEqualTo(3);
        assertThat(relay.relayBatch()).isZero();

        assertThat(drain("celery")).containsExactly(first, last);
        assertThat(relay.parked()).isEqualTo(1);
        assertThat(outbox.parked()).isEqualTo(1);
        assertThat(outbox.pending()).isZero();
    }

    @Test
    void aBrokerOutageLeavesTheRowsUntilItAnswersAgain() throws Exception {
        BrokerWithoutOnceDispatch down = new BrokerWithoutOnceDispatch(broker);
        List<String> sent = transaction(true, c -> List.of(app.task("t.add").delay(1, 1).id(),
                app.task("t.add").delay(2, 2).id()));
        down.publishDown = true;
        OutboxRelay relay = outbox.relay(down).build();

        assertThatThrownBy(relay::relayBatch).isInstanceOf(BrokerUnavailableException.class);
        assertThat(outbox.pending()).isEqualTo(2);

        down.publishDown = false;
        assertThat(relay.relayBatch()).isEqualTo(2);
        assertThat(drain("celery")).containsExactlyElementsOf(sent);
        assertThat(outbox.pending()).isZero();
    }

    @Test
    void relaysSideBySideShareTheTableAndPublishEveryRowOnce() throws Exception {
        int n = 400;
        transaction(true, c -> {
            for (int i = 0; i < n; i++) {
                app.task("t.add").delay(i, i);
            }
            return null;
        });
        // No once-only dispatch here: a row two relays both took would be queued twice and counted twice.
        BrokerWithoutOnceDispatch counting = new BrokerWithoutOnceDispatch(broker);
        for (int i = 0; i < 3; i++) {
            OutboxRelay relay = outbox.relay(counting).batchSize(7).pollInterval(Duration.ofMillis(20)).build();
            closing.add(relay);
            relay.start();
        }

        await().atMost(Duration.ofSeconds(30)).until(() -> outbox.pending() == 0);
        assertThat(counting.published.get()).isEqualTo(n);
        assertThat(drain("celery")).hasSize(n).doesNotHaveDuplicates();
    }

    @Test
    void aStartedRelayPublishesACommitSoonAfterItIsWoken() {
        transaction(true, c -> app.task("t.add").delay(1, 1));
        OutboxRelay relay = outbox.relay(broker).pollInterval(Duration.ofMinutes(1)).build().start();
        closing.add(relay);
        // Its first batch took that row, and was not full: the relay now pauses for a minute.
        await().atMost(Duration.ofSeconds(5)).until(() -> broker.queueLength("celery") == 1);

        transaction(true, c -> app.task("t.add").delay(1, 2));
        relay.wake();

        await().atMost(Duration.ofSeconds(5)).until(() -> broker.queueLength("celery") == 2);
        assertThat(outbox.pending()).isZero();
    }
}
