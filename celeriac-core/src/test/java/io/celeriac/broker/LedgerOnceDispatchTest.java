package io.celeriac.broker;

import io.celeriac.fixtures.BrokerWithoutOnceDispatch;
import io.celeriac.fixtures.MutableClock;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Once-only publishing over a ledger and a broker that cannot do it atomically (as RabbitMQ). */
class LedgerOnceDispatchTest {
    private static final Duration KEEP = Duration.ofDays(7);
    private static final Duration RELAY_AFTER = Duration.ofSeconds(60);

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-24T10:00:00.500Z"));
    private final BrokerWithoutOnceDispatch broker = new BrokerWithoutOnceDispatch(new InMemoryBroker(clock));
    private final InMemoryDispatchLedger ledger = new InMemoryDispatchLedger(clock);
    private final LedgerOnceDispatch once = new LedgerOnceDispatch(ledger, broker);
    private final MessageCodec codec = new MessageCodec();

    @AfterEach
    void close() {
        broker.close();
    }

    private OutboundMessage message(String id) {
        return new OutboundMessage("celery", 0, codec.encode(TaskMessage.builder("t.tick", id).args(List.of(1))
                .routingKey("celery").build()), id, null);
    }

    private List<String> queued() throws InterruptedException {
        return broker.reserve(List.of("celery"), 1000, Duration.ZERO).stream()
                .map(d -> codec.decode(d.message()).id()).toList();
    }

    @Test
    void publishesOncePerKeyAndMarksItSent() throws Exception {
        assertThat(once.publishOnce("k1", KEEP, message("a"))).isTrue();
        assertThat(once.publishOnce("k1", KEEP, message("a"))).isFalse();
        assertThat(once.publishOnce("k2", KEEP, message("b"))).isTrue();
        assertThat(queued()).containsExactly("a", "b");

        clock.advance(RELAY_AFTER);
        assertThat(once.relayPending(RELAY_AFTER, 100)).as("nothing left pending").isZero();
        assertThat(queued()).isEmpty();
    }

    @Test
    void aFailedPublishTakesTheRecordBackSoTheRetrySendsIt() throws Exception {
        broker.publishDown = true;
        assertThatThrownBy(() -> once.publishOnce("k", KEEP, message("a")))
                .isInstanceOf(BrokerUnavailableException.class);
        clock.advance(RELAY_AFTER);
        assertThat(ledger.claimPending(RELAY_AFTER, 100)).as("not left for a relay to send late").isEmpty();

        broker.publishDown = false;
        assertThat(once.publishOnce("k", KEEP, message("a"))).isTrue();
        assertThat(queued()).containsExactly("a");
    }

    @Test
    void aRecordLeftPendingByACrashedProcessIsRelayedOnceAndNotBeforeRelayAfter() throws Exception {
        // A process recorded the key and died before publishing.
        assertThat(ledger.record("crashed", KEEP, message("c"))).isTrue();
        assertThat(once.publishOnce("crashed", KEEP, message("c"))).as("the key is taken").isFalse();

        clock.advance(RELAY_AFTER.minusSeconds(1));
        assertThat(once.relayPending(RELAY_AFTER, 100)).as("may still be publishing").isZero();
        clock.advance(Duration.ofSeconds(1));
        assertThat(once.relayPending(RELAY_AFTER, 100)).isEqualTo(1);
        clock.advance(RELAY_AFTER.multipliedBy(3));
        assertThat(once.relayPending(RELAY_AFTER, 100)).as("marked sent by the relay").isZero();
        assertThat(queued()).containsExactly("c");
    }

    @Test
    void aRelayThatCannotPublishLeavesTheRecordForTheNextOne() throws Exception {
        ledger.record("crashed", KEEP, message("c"));
        clock.advance(RELAY_AFTER);
        broker.publishDown = true;
        assertThatThrownBy(() -> once.relayPending(RELAY_AFTER, 100)).isInstanceOf(BrokerUnavailableException.class);
        broker.publishDown = false;
        assertThat(once.relayPending(RELAY_AFTER, 100)).as("claimed a moment ago: waits again").isZero();
        clock.advance(RELAY_AFTER);
        assertThat(once.relayPending(RELAY_AFTER, 100)).isEqualTo(1);
        assertThat(queued()).containsExactly("c");
    }
}
