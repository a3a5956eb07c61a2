package io.celeriac.beat;

import io.celeriac.Celeriac;
import io.celeriac.broker.Delivery;
import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.fixtures.BrokerWithoutOnceDispatch;
import io.celeriac.fixtures.MutableClock;
import io.celeriac.protocol.TaskMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BeatTest {
    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00.500Z"));
    private final InMemoryBroker broker = new InMemoryBroker(clock);
    private final Celeriac app = Celeriac.builder().broker(broker).clock(clock).build();
    private final InMemoryScheduleStore store = new InMemoryScheduleStore(clock);

    @AfterEach
    void close() {
        broker.close();
    }

    private List<TaskMessage> sent() throws InterruptedException {
        List<Delivery> got = broker.reserve(List.of("celery", "reports"), 10_000, Duration.ZERO);
        return got.stream().map(d -> app.codec().decode(d.message())).toList();
    }

    private void run(Beat beat, Duration total, Duration step) {
        for (long ms = 0; ms < total.toMillis(); ms += step.toMillis()) {
            beat.tick();
            clock.advance(step);
        }
    }

    @Test
    void intervalEntryFiresOncePerDueTime() throws Exception {
        store.save(ScheduleEntry.of("ping", "t.add", IntervalSchedule.every(Duration.ofSeconds(10)), 1, 2));
        Beat beat = new Beat(app, store, clock, "b1");
        run(beat, Duration.ofSeconds(60), Duration.ofMillis(250));
        List<TaskMessage> messages = sent();
        // Due at :10, :20, ... :60 (not at :00, which had passed when beat first saw the entry).
        assertThat(messages).hasSize(6);
        assertThat(messages).extracting(TaskMessage::task).containsOnly("t.add");
        assertThat(messages.get(0).args()).containsExactly(1, 2);
        assertThat(messages.stream().map(TaskMessage::id).distinct()).hasSize(6);
        assertThat(store.state("ping").totalRunCount()).isEqualTo(6);
    }

    @Test
    void afterDowntimeCatchUpOnceOrSkip() throws Exception {
        store.save(ScheduleEntry.of("catch", "t.add", IntervalSchedule.every(Duration.ofMinutes(1))));
        store.save(ScheduleEntry.of("skip", "t.add", IntervalSchedule.every(Duration.ofMinutes(1)))
                .withCatchUp(false).withQueue("reports"));
        Beat beat = new Beat(app, store, clock, "b1");
        beat.tick();
        clock.advance(Duration.ofHours(1)); // beat was down for an hour: 60 runs missed
        beat.tick();
        List<TaskMessage> messages = sent();
        assertThat(messages).hasSize(1);
        assertThat(messages.get(0).routingKey()).isEqualTo("celery");
        // Both entries move on to the next minute: no burst afterwards either.
        clock.advance(Duration.ofSeconds(30));
        beat.tick();
        assertThat(sent()).isEmpty();
        clock.advance(Duration.ofSeconds(31));
        beat.tick();
        assertThat(sent()).hasSize(2);
    }

    @Test
    void editsWhileRunningTakeEffectAtTheNextTick() throws Exception {
        store.save(ScheduleEntry.of("e", "t.add", IntervalSchedule.every(Duration.ofSeconds(1))));
        Beat beat = new Beat(app, store, clock, "b1");
        run(beat, Duration.ofSeconds(3), Duration.ofMillis(100));
        assertThat(sent()).hasSize(3);
        store.save(store.entry("e").orElseThrow().withEnabled(false));
        run(beat, Duration.ofSeconds(3), Duration.ofMillis(100));
        assertThat(sent()).isEmpty();
        store.save(store.entry("e").orElseThrow().withEnabled(true).withQueue("reports"));
        run(beat, Duration.ofSeconds(2), Duration.ofMillis(100));
        List<TaskMessage> after = sent();
        assertThat(after).isNotEmpty().allSatisfy(m -> assertThat(m.routingKey()).isEqualTo("reports"));
        assertThat(store.remove("e")).isTrue();
        run(beat, Duration.ofSeconds(2), Duration.ofMillis(100));
        assertThat(sent()).isEmpty();
    }

    @Test
    void oneOffClockedEntryRunsOnceThenDisablesItself() throws Exception {
        store.save(ScheduleEntry.of("once", "t.add", new ClockedSchedule(clock.instant().plusSeconds(2)))
                .withOneOff(true));
        Beat beat = new Beat(app, store, clock, "b1");
        run(beat, Duration.ofSeconds(10), Duration.ofMillis(200));
        assertThat(sent()).hasSize(1);
        assertThat(store.entry("once").orElseThrow().enabled()).isFalse();
    }

    @Test
    void onlyTheLeaseHolderSendsAndAnotherTakesOverWhenItDies() throws Exception {
        store.save(ScheduleEntry.of("ha", "t.add", IntervalSchedule.every(Duration.ofSeconds(2))));
        Beat a = new Beat(app, store, clock, "a");
        Beat b = new Beat(app, store, clock, "b");
        for (int i = 0; i < 40; i++) { // 10 s
            a.tick();
            b.tick();
            clock.advance(Duration.ofMillis(250));
        }
        assertThat(a.isLeader()).isTrue();
        assertThat(b.isLeader()).isFalse();
        assertThat(sent()).hasSize(5);
        // a dies (stops ticking); b takes over once the lease has expired, and no due time is lost or doubled.
        for (int i = 0; i < 80; i++) { // 20 s
            b.tick();
            clock.advance(Duration.ofMillis(250));
        }
        assertThat(b.isLeader()).isTrue();
        List<TaskMessage> afterFailover = sent();
        assertThat(afterFailover.stream().map(TaskMessage::id).distinct()).hasSize(afterFailover.size());
        // 10 due times in 20 s; the ones while nobody led (lease time) are caught up once, not lost in bulk.
        assertThat(afterFailover.size()).isBetween(6, 10);
    }

    @Test
    void twoBeatsThatBothBelieveTheyLeadStillSendEachDueTimeOnce() throws Exception {
        // Separate stores (each grants its own lease), one broker: the dispatch record is what keeps it exact.
        InMemoryScheduleStore other = new InMemoryScheduleStore(clock);
        ScheduleEntry e = ScheduleEntry.of("dup", "t.add", IntervalSchedule.every(Duration.ofSeconds(1)));
        store.save(e);
        other.save(e);
        Beat a = new Beat(app, store, clock, "a");
        Beat b = new Beat(app, other, clock, "b");
        for (int i = 0; i < 50; i++) {
            a.tick();
            b.tick();
            clock.advance(Duration.ofMillis(100));
        }
        List<TaskMessage> messages = sent();
        assertThat(messages).hasSize(5);
        assertThat(messages.stream().map(TaskMessage::id).distinct()).hasSize(5);
    }

    // ------------------------------------------------------------------ on a broker without once-only dispatch

    /** The id beat gives the run of {@code entry} due at {@code due}. */
    private static String tickId(String entry, Instant due) {
        return UUID.nameUUIDFromBytes((entry + "@" + due.toEpochMilli()).getBytes(StandardCharsets.UTF_8)).toString();
    }

    private List<TaskMessage> sent(BrokerWithoutOnceDispatch b) throws InterruptedException {
        List<Delivery> got = b.reserve(List.of("celery"), 10_000, Duration.ZERO);
        return got.stream().map(d -> app.codec().decode(d.message())).toList();
    }

    @Test
    void withoutOnceDispatchTwoBeatsSendEachDueTimeOnceThroughTheStoresLedger() throws Exception {
        BrokerWithoutOnceDispatch plain = new BrokerWithoutOnceDispatch(new InMemoryBroker(clock));
        Celeriac onPlain = Celeriac.builder().broker(plain).clock(clock).build();
        store.save(ScheduleEntry.of("ha", "t.add", IntervalSchedule.every(Duration.ofSeconds(1))));
        Beat a = new Beat(onPlain, store, clock, "a", Duration.ofSeconds(2), Duration.ofSeconds(5));
        Beat b = new Beat(onPlain, store, clock, "b", Duration.ofSeconds(2), Duration.ofSeconds(5));
        for (int i = 0; i < 40; i++) { // 10 s, both alive
            a.tick();
            b.tick();
            clock.advance(Duration.ofMillis(250));
        }
        List<TaskMessage> first = sent(plain);
        assertThat(first).hasSize(10);
        for (int i = 0; i < 40; i++) { // a died: b takes over after the lease
            b.tick();
            clock.advance(Duration.ofMillis(250));
        }
        List<TaskMessage> all = new java.util.ArrayList<>(first);
        all.addAll(sent(plain));
        assertThat(all.stream().map(TaskMessage::id).distinct()).hasSize(all.size());
        assertThat((long) all.size()).isEqualTo(store.state("ha").totalRunCount());
        assertThat(all.size()).isBetween(16, 20);
        assertThat(plain.published.get()).as("published once each, nothing relayed").isEqualTo(all.size());
        clock.advance(Duration.ofSeconds(10));
        assertThat(store.dispatchLedger().orElseThrow().claimPending(Duration.ZERO, 100)).isEmpty();
        plain.close();
    }

    @Test
    void aTickRecordedByABeatThatDiedBeforePublishingIsRelayedOnceByTheActiveBeat() throws Exception {
        BrokerWithoutOnceDispatch plain = new BrokerWithoutOnceDispatch(new InMemoryBroker(clock));
        Celeriac onPlain = Celeriac.builder().broker(plain).clock(clock).build();
        store.save(ScheduleEntry.of("tick", "t.add", IntervalSchedule.every(Duration.ofSeconds(1))));
        Instant due = Instant.parse("2026-11-24T10:00:02Z");
        // Another beat recorded the run due at :02 and died before publishing it.
        DispatchLedger ledger = store.dispatchLedger().orElseThrow();
        TaskMessage crashed = TaskMessage.builder("t.add", tickId("tick", due)).args(List.of()).kwargs(java.util.Map.of())
                .routingKey("celery").build();
        assertThat(ledger.record(Beat.onceKey("tick", due), Duration.ofDays(7), new OutboundMessage("celery", 0,
                onPlain.codec().encode(crashed), crashed.id(), null))).isTrue();

        Beat beat = new Beat(onPlain, store, clock, "live", Duration.ofSeconds(2), Duration.ofSeconds(5));
        List<TaskMessage> messages = new java.util.ArrayList<>();
        for (int i = 0; i < 40; i++) { // 10 s
            beat.tick();
            messages.addAll(sent(plain));
            if (clock.instant().isBefore(Instant.parse("2026-11-24T10:00:05Z"))) {
                assertThat(messages).extracting(TaskMessage::id).as("not relayed while it may still be publishing")
                        .doesNotContain(crashed.id());
            }
            clock.advance(Duration.ofMillis(250));
        }
        assertThat(messages).extracting(TaskMessage::id).containsOnlyOnce(crashed.id());
        assertThat(messages.stream().map(TaskMessage::id).distinct()).hasSize(messages.size());
        // Every due time from :01 to :10 was published, :02 by the relay.
        Set<String> expected = new HashSet<>();
        for (int s = 1; s <= 10; s++) {
            expected.add(tickId("tick", Instant.parse("2026-11-24T10:00:00Z").plusSeconds(s)));
        }
        assertThat(messages).extracting(TaskMessage::id).containsExactlyInAnyOrderElementsOf(expected);
        plain.close();
    }

    @Test
    void aBrokerOutageThroughTheLedgerSendsTheLatestRunLateOnceWithoutABurst() throws Exception {
        BrokerWithoutOnceDispatch plain = new BrokerWithoutOnceDispatch(new InMemoryBroker(clock));
        Celeriac onPlain = Celeriac.builder().broker(plain).clock(clock).build();
        store.save(ScheduleEntry.of("tick", "t.add", IntervalSchedule.every(Duration.ofSeconds(1))));
        Beat beat = new Beat(onPlain, store, clock, "b1", Duration.ofSeconds(2), Duration.ofSeconds(5));
        beat.tick();
        plain.publishDown = true;
        for (int i = 0; i < 40; i++) { // 10 s of failed rounds
            clock.advance(Duration.ofMillis(250));
            try {
                beat.tick();
            } catch (RuntimeException expected) {
                // the broker is down
            }
        }
        plain.publishDown = false;
        clock.advance(Duration.ofMillis(250));
        beat.tick();
        assertThat(sent(plain)).as("the latest owed run, once").hasSize(1);
        for (int i = 0; i < 40; i++) { // past relayAfter: nothing recorded during the outage comes back
            clock.advance(Duration.ofMillis(250));
            beat.tick();
        }
        assertThat(sent(plain)).hasSize(10);
        plain.close();
    }

    @Test
    void aStoreWithoutALedgerIsRefusedOnABrokerWithoutOnceDispatch() {
        BrokerWithoutOnceDispatch plain = new BrokerWithoutOnceDispatch(new InMemoryBroker(clock));
        Celeriac onPlain = Celeriac.builder().broker(plain).clock(clock).build();
        ScheduleStore noLedger = new NoLedgerStore(store);
        assertThatThrownBy(() -> new Beat(onPlain, noLedger))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("JdbcScheduleStore or RedisScheduleStore")
                .hasMessageContaining("NoLedgerStore");
        assertThat(new Beat(app, noLedger).isLeader()).as("a broker with its own once-only dispatch needs none")
                .isFalse();
        plain.close();
    }

    /** A store that keeps entries and the lease but no dispatch ledger. */
    private record NoLedgerStore(ScheduleStore inner) implements ScheduleStore {
        @Override
        public List<ScheduleEntry> entries() {
            return inner.entries();
        }

        @Override
        public Optional<ScheduleEntry> entry(String name) {
            return inner.entry(name);
        }

        @Override
        public void save(ScheduleEntry entry) {
            inner.save(entry);
        }

        @Override
        public boolean remove(String name) {
            return inner.remove(name);
        }

        @Override
        public EntryState state(String name) {
            return inner.state(name);
        }

        @Override
        public void recordRun(String name, Instant due, Instant at, boolean sent) {
            inner.recordRun(name, due, at, sent);
        }

        @Override
        public Optional<Long> lease(String holder, Duration ttl) {
            return inner.lease(holder, ttl);
        }

        @Override
        public void release(String holder) {
            inner.release(holder);
        }
    }
}
