package io.celeriac.redis;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.beat.Beat;
import io.celeriac.beat.ClockedSchedule;
import io.celeriac.beat.InMemoryScheduleStore;
import io.celeriac.beat.IntervalSchedule;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Beat started, or running, while Redis is down: it does not die, says what it cannot reach, and once Redis answers
 * it sends what is due, each run once. (The dashboard's counterpart is celeriac-dashboard's
 * DashboardStartupDuringOutageIT.)
 */
class StartupDuringOutageIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private static final String QUEUE = "beat-outage";

    private final ListAppender<ILoggingEvent> beatLog = new ListAppender<>();
    private final Logger beatLogger = (Logger) LoggerFactory.getLogger("celeriac.beat");
    private RedisClient client;
    private StatefulRedisConnection<String, String> redis;

    @BeforeEach
    void setUp() throws Exception {
        REDIS.start();
        client = RedisClient.create(REDIS.url(0));
        redis = client.connect();
        redis.sync().flushall();
        beatLog.start();
        beatLogger.addAppender(beatLog);
    }

    @AfterEach
    void tearDown() throws Exception {
        beatLogger.detachAppender(beatLog);
        REDIS.start();
        redis.close();
        client.shutdown();
    }

    private Celeriac app() {
        return Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0)).resultBackend(REDIS.url(1))
                .build()).build();
    }

    /** Task ids of the messages beat queued, one entry per message. */
    private List<String> queued(Celeriac app) {
        List<String> ids = new ArrayList<>();
        for (String raw : redis.sync().lrange(RedisBroker.listKey(QUEUE, RedisBroker.step(0)), 0, -1)) {
            ids.add(String.valueOf(new KombuEnvelope(app.codec()).decode(raw).headers().get("id")));
        }
        return ids;
    }

    private List<String> logLines() {
        return beatLog.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @Test
    void beatStartedWhileRedisIsDownSaysWhyAndSendsOnceRedisAnswers() throws Exception {
        REDIS.stop();
        try (Celeriac app = app(); RedisScheduleStore store = new RedisScheduleStore(REDIS.url(0), app.config());
             Beat beat = new Beat(app, store, Clock.systemUTC(), "beat@outage").start()) {
            // Its store is the broker's Redis, which does not answer: beat keeps trying and says so.
            await().atMost(Duration.ofSeconds(30)).until(() -> logLines().stream().anyMatch(l ->
                    l.startsWith("Cannot reach the schedule store (Connection refused")
                            && l.contains("127.0.0.1:" + REDIS.port()) && l.endsWith("); retrying in 1 s")));
            Thread.sleep(3000);
            REDIS.start();
            redis.sync().flushall();
            store.save(ScheduleEntry.of("outage-ping", "outage.ping", IntervalSchedule.every(Duration.ofSeconds(1)))
                    .withQueue(QUEUE));

            await().atMost(Duration.ofSeconds(60)).until(() -> !queued(app).isEmpty());
            assertThat(beat.isLeader()).isTrue();
            assertThat(logLines()).anyMatch(l -> l.startsWith("Reached the schedule store after "));
        }
    }

    @Test
    void aRunThatComesDueWhileTheBrokerIsDownIsSentOnceWhenItIsBackNotSkippedAsMissed() throws Exception {
        InMemoryScheduleStore store = new InMemoryScheduleStore(Clock.systemUTC());
        try (Celeriac app = app(); Beat beat = new Beat(app, store, Clock.systemUTC(), "beat@outage").start()) {
            await().atMost(Duration.ofSeconds(30)).until(beat::isLeader);
            REDIS.stop();
            // A one-off run due in 2 s, with missed runs skipped (--skip-missed): beat is up, but cannot send it.
            Instant at = Instant.now().plusSeconds(2);
            store.save(new ScheduleEntry("outage-once", "outage.once", List.of(), java.util.Map.of(),
                    new ClockedSchedule(at), QUEUE, null, null, true, false, null, null, false));
            await().atMost(Duration.ofSeconds(30)).until(() -> logLines().stream().anyMatch(l ->
                    l.startsWith("Cannot reach the broker at redis://127.0.0.1:" + REDIS.port())));
            // Down until the run is well past the point where beat would count it as missed (5 s).
            await().atMost(Duration.ofSeconds(60)).until(() -> Instant.now().isAfter(at.plusSeconds(7)));
            REDIS.start();

            await().atMost(Duration.ofSeconds(60)).until(() -> store.state("outage-once").totalRunCount() == 1);
            // A few more rounds (beat runs one at least every second): nothing is sent again.
            Thread.sleep(3000);
            assertThat(queued(app)).hasSize(1);
            assertThat(store.state("outage-once").totalRunCount()).isEqualTo(1);
            assertThat(logLines()).anyMatch(l -> l.startsWith("Scheduler: Sending due task outage-once")
                    && l.contains("late: due at " + at));
            assertThat(logLines()).noneMatch(l -> l.startsWith("Scheduler: skipping missed run of outage-once"));
        }
    }
}
