package io.celeriac.jdbc;

import io.celeriac.CeleriacException;
import io.celeriac.backend.ChordCounter;
import io.celeriac.backend.ResultBackendUnavailableException;
import io.celeriac.backend.ResultDocument;
import io.celeriac.backend.TaskState;
import org.h2.jdbcx.JdbcDataSource;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The backend tells an unreachable database (worth waiting for) from a refused document (never worth retrying): the
 * worker's completer retries the first and handles the second document by document. Chord counting maps alike.
 */
class JdbcResultBackendErrorsTest {

    @Test
    void aDatabaseThatIsGoneIsUnavailableAndAValueTooLongIsARefusal() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        Server server = Server.createTcpServer("-tcpPort", Integer.toString(port), "-ifNotExists").start();
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL("jdbc:h2:tcp://127.0.0.1:" + port + "/mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        JdbcResultBackend backend = new JdbcResultBackend(ds, Duration.ofHours(1), Clock.systemUTC());
        try {
            backend.store(List.of(ResultDocument.of("fits", TaskState.SUCCESS, 1)));
            assertThat(backend.get("fits")).isPresent();
            assertThatThrownBy(() -> backend.chords().orElseThrow().partDone("g", "x".repeat(300), 0,
                    TaskState.SUCCESS, 1)).isInstanceOf(CeleriacException.class)
                    .isNotInstanceOf(ResultBackendUnavailableException.class)
                    .hasMessageContaining("TASK_ID");

            assertThatThrownBy(() -> backend.store(List.of(ResultDocument.of("x".repeat(300), TaskState.SUCCESS, 1))))
                    .isInstanceOf(CeleriacException.class)
                    .isNotInstanceOf(ResultBackendUnavailableException.class)
                    .hasMessageContaining("TASK_ID");

            server.stop();
            assertThatThrownBy(() -> backend.store(List.of(ResultDocument.of("later", TaskState.SUCCESS, 1))))
                    .isInstanceOf(ResultBackendUnavailableException.class)
                    .hasMessageContaining("cannot be reached");
            // Chord counting maps its failures the same way: the worker waits and counts the part again.
            ChordCounter chords = backend.chords().orElseThrow();
            assertThatThrownBy(() -> chords.partDone("g", "t", 0, TaskState.SUCCESS, 1))
                    .isInstanceOf(ResultBackendUnavailableException.class)
                    .hasMessageContaining("Recording part t of chord g").hasMessageContaining("cannot be reached");
        } finally {
            backend.close();
            server.stop();
        }
    }

    @Test
    void connectionStatesAndPoolTimeoutsCountAsUnreachable() {
        assertThat(JdbcResultBackend.unreachable(new SQLException("refused", "08001"))).isTrue();
        assertThat(JdbcResultBackend.unreachable(new SQLException("terminating connection due to administrator "
                + "command", "57P01"))).isTrue();
        // HikariCP, when no connection can be had within its timeout.
        assertThat(JdbcResultBackend.unreachable(new SQLTransientConnectionException("celeriac-results - Connection "
                + "is not available, request timed out after 30000ms."))).isTrue();
        SQLException batch = new SQLException("Batch entry 0 was aborted", "22001");
        batch.setNextException(new SQLException("I/O error", "08006"));
        assertThat(JdbcResultBackend.unreachable(batch)).isTrue();
        assertThat(JdbcResultBackend.unreachable(new SQLException("value too long for type character varying(255)",
                "22001"))).isFalse();
        assertThat(JdbcResultBackend.unreachable(new SQLException("duplicate key", "23505", 0)))
                .isFalse();
    }

    @Test
    void aTransactionAbortedForAnotherIsWorthRepeatingAndAConstraintIsNot() {
        // Deadlock or serialization failure, PostgreSQL's deadlock and lock_not_available, H2's lock timeout.
        for (String state : new String[] {"40001", "40P01", "55P03", "HYT00"}) {
            SQLException e = new SQLException("aborted", state);
            assertThat(JdbcResultBackend.contended(e)).as(state).isTrue();
            assertThat(JdbcResultBackend.failed("Recording part t of chord g", e))
                    .isInstanceOf(ResultBackendUnavailableException.class)
                    .hasMessageContaining("safe to repeat");
        }
        // MariaDB's "Lock wait timeout exceeded; try restarting transaction".
        assertThat(JdbcResultBackend.contended(new SQLException("Lock wait timeout exceeded", "HY000", 1205)))
                .isTrue();
        assertThat(JdbcResultBackend.contended(new SQLException("duplicate key", "23505"))).isFalse();
        assertThat(JdbcResultBackend.failed("Recording part t of chord g", new SQLException("value too long",
                "22001"))).isNotInstanceOf(ResultBackendUnavailableException.class);
    }
}
