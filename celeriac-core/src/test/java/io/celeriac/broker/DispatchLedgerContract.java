package io.celeriac.broker;

import io.celeriac.protocol.BrokerMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What every {@link DispatchLedger} must do, whatever keeps it: {@code InMemoryDispatchLedgerTest}, the JDBC store on
 * H2, PostgreSQL and MariaDB, the Redis store. An implementation says how to open a ledger on an empty store and how
 * to let time pass on the ledger's clock (a settable clock is advanced; Redis's own clock is waited for).
 */
public abstract class DispatchLedgerContract {
    /** Long enough that a test's own steps never take it by accident on a slow machine, short enough to wait for. */
    protected static final Duration IDLE = Duration.ofSeconds(2);
    private final MessageCodec codec = new MessageCodec();

    /**
     * The ledger of the test's store, empty when the test starts; every call within a test returns one on the same
     * store (the same object will do: concurrent callers each get their own connection).
     */
    protected abstract DispatchLedger ledger();

    /** Lets {@code d} pass on the ledger's clock. */
    protected abstract void elapse(Duration d);

    /** A task message as the app builds it, with an ETA, a priority and non-ASCII arguments. */
    protected OutboundMessage message(String id) {
        Instant eta = Instant.parse("2026-11-24T10:00:05.250Z");
        TaskMessage m = TaskMessage.builder("orders.cleanup", id).args(List.of(1, "zwölf €", 2.5, Long.MAX_VALUE))
                .kwargs(Map.of("dry_run", true, "tags", List.of("a", "b"))).routingKey("maintenance").priority(3)
                .eta(eta).deliveryTag("tag-" + id).build();
        return new OutboundMessage("maintenance", 3, codec.encode(m), id, eta);
    }

    private static String key(String name) {
        return "celeriac.beat.sent:" + name + ":1795600805000";
    }

    @Test
    void ofTwoRecordsOfOneKeyOnlyTheFirstIsTakenAndTheMessageComesBackUnchanged() {
        DispatchLedger l = ledger();
        OutboundMessage m = message("id-1");
        assertThat(l.record(key("a"), Duration.ofDays(7), m)).isTrue();
        assertThat(l.record(key("a"), Duration.ofDays(7), message("id-2"))).isFalse();
        elapse(IDLE);
        List<PendingDispatch> pending = l.claimPending(IDLE, 10);
        assertThat(pending).hasSize(1);
        assertThat(pending.get(0).onceKey()).isEqualTo(key("a"));
        assertThat(pending.get(0).message()).isEqualTo(m);
        assertThat(pending.get(0).message().message().bodyText()).contains("zwölf €");
    }

    @Test
    void anyBytesHeadersAndPropertiesSurvive() {
        DispatchLedger l = ledger();
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("id", "raw-1");
        headers.put("nested", Map.of("list", List.of(1, 2.5, "ü", false), "null", "x"));
        headers.put("big", Long.MAX_VALUE);
        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("correlation_id", "raw-1");
        properties.put("priority", 9);
        properties.put("delivery_mode", 2);
        BrokerMessage raw = new BrokerMessage(new byte[] {0, (byte) 0xFF, (byte) 0xC3, 'x'}, "application/x-bytes",
                "binary", headers, properties);
        OutboundMessage m = new OutboundMessage("q\u00e9", 9, raw, "raw-1", null);
        assertThat(l.record(key("raw"), Duration.ofDays(1), m)).isTrue();
        elapse(IDLE);
        List<PendingDispatch> pending = l.claimPending(IDLE, 10);
        assertThat(pending).extracting(PendingDispatch::message).containsExactly(m);
    }

    @Test
    void aRecordIsClaimedOnlyAfterIdleForAndClaimingRestartsTheWait() {
        DispatchLedger l = ledger();
        l.record(key("b"), Duration.ofDays(7), message("id-b"));
        assertThat(l.claimPending(IDLE, 10)).as("just recorded: its recorder may still be publishing").isEmpty();
        elapse(IDLE);
        assertThat(l.claimPending(IDLE, 10)).hasSize(1);
        assertThat(l.claimPending(IDLE, 10)).as("claimed: not handed to a second claimer").isEmpty();
        elapse(IDLE);
        assertThat(l.claimPending(IDLE, 10)).as("claimed, not sent, waited again").hasSize(1);
    }

    @Test
    void aSentRecordIsNoLongerPendingButKeepsItsKey() {
        DispatchLedger l = ledger();
        l.record(key("c"), Duration.ofDays(7), message("id-c"));
        l.markSent(key("c"));
        l.markSent(key("unknown"));
        elapse(IDLE);
        assertThat(l.claimPending(IDLE, 10)).isEmpty();
        assertThat(l.record(key("c"), Duration.ofDays(7), message("id-c"))).isFalse();
    }

    @Test
    void aForgottenKeyMayBeRecordedAgain() {
        DispatchLedger l = ledger();
        l.record(key("d"), Duration.ofDays(7), message("id-d"));
        l.forget(key("d"));
        elapse(IDLE);
        assertThat(l.claimPending(IDLE, 10)).isEmpty();
        assertThat(l.record(key("d"), Duration.ofDays(7), message("id-d2"))).isTrue();
        elapse(IDLE);
        assertThat(l.claimPending(IDLE, 10)).extracting(p -> p.message().taskId()).containsExactly("id-d2");
    }

    @Test
    void aKeyIsKeptForItsKeepThenMayBeRecordedAgain() {
        DispatchLedger l = ledger();
        Duration keep = IDLE.multipliedBy(2);
        assertThat(l.record(key("e"), keep, message("id-e"))).isTrue();
        l.markSent(key("e"));
        elapse(IDLE);
        assertThat(l.record(key("e"), keep, message("id-e"))).as("kept").isFalse();
        elapse(IDLE.plusMillis(100));
        assertThat(l.record(key("e"), keep, message("id-e2"))).as("expired").isTrue();
    }

    @Test
    void pendingRecordsAreClaimedLongestWaitingFirstUpToMax() {
        DispatchLedger l = ledger();
        for (int i = 0; i < 5; i++) {
            l.record(key("f" + i), Duration.ofDays(7), message("id-f" + i));
            elapse(Duration.ofMillis(10));
        }
        l.markSent(key("f1"));
        elapse(IDLE);
        List<String> first = l.claimPending(IDLE, 2).stream().map(p -> p.message().taskId()).toList();
        List<String> rest = l.claimPending(IDLE, 10).stream().map(p -> p.message().taskId()).toList();
        assertThat(first).containsExactly("id-f0", "id-f2");
        assertThat(rest).containsExactly("id-f3", "id-f4");
    }

    @Test
    void concurrentRecordsOfOneKeyTakeItExactlyOnce() throws Exception {
        int threads = 6;
        int keys = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<DispatchLedger> ledgers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                ledgers.add(ledger());
            }
            for (int k = 0; k < keys; k++) {
                String key = key("race" + k);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Boolean>> results = new ArrayList<>();
                for (DispatchLedger l : ledgers) {
                    Callable<Boolean> c = () -> {
                        go.await();
                        return l.record(key, Duration.ofDays(7), message(key));
                    };
                    results.add(pool.submit(c));
                }
                go.countDown();
                int taken = 0;
                for (Future<Boolean> f : results) {
                    taken += f.get(30, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertThat(taken).as("callers that recorded " + key).isEqualTo(1);
            }
        } finally {
            pool.shutdownNow();
        }
        elapse(IDLE);
        assertThat(ledger().claimPending(IDLE, 1000)).hasSize(keys);
    }
}
