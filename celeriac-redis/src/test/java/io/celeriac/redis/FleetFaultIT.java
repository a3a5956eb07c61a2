package io.celeriac.redis;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultDocument;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.redis.testing.FleetRuns;
import io.celeriac.redis.testing.FleetRuns.Run;
import io.celeriac.redis.testing.FleetRuns.Unexplained;
import io.celeriac.redis.testing.FleetTasks;
import io.celeriac.redis.testing.FleetWorkerMain;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.fail;

/**
 * The fleet under faults, as the project promises it: three acks-late worker processes (four pool threads each;
 * prefetch multiplier 1, and 4 in the first slot, whose window of 16 has its consumer send each reserve before it
 * receives the last one's messages) work through thousands of short tasks while a chaos thread SIGKILLs a random worker at
 * least ten times (a new JVM takes its place each time) and kills redis-server, which runs with an fsync-always
 * append-only file, for 1 s, 5 s and 15 s. Afterwards:
 * <ul>
 *   <li>every task that was sent ran to its end at least once;</li>
 *   <li>a task ran again only after the process of its previous run had been SIGKILLed: acks late promises
 *       at-least-once, and a message may only come back once its holder is dead;</li>
 *   <li>the last run of every task ended (no message lost once redelivered);</li>
 *   <li>nothing is left in the queue, in kombu's {@code unacked} hash, in {@code celeriac.scheduled} or among the
 *       dead letters;</li>
 *   <li>and, secondly, the result backend holds SUCCESS for every task.</li>
 * </ul>
 * Runs are counted from the workers' own run logs ({@link FleetTasks}), never from the broker or backend under test.
 *
 * <p>All random choices (task durations, kill victims, gaps, outage order) come from one seed, printed first and in
 * any failure; {@code -Dfleet.seed=<n>} replays the same plan (timing still varies). {@code -Dfleet.tasks=<n>} sets
 * how many tasks are queued before the workers start (1,500); while the chaos lasts the queue is kept topped up, so
 * the total depends on the machine's pace (4,000 to 6,000 on two busy cores). Run logs and worker output stay in
 * {@code target/fleet-fault/}, the server's log in its directory (named in a failure).
 */
class FleetFaultIT {
    private static final int WORKERS = 3;
    private static final int CONCURRENCY = 4;
    private static final int KILLS = 12;
    private static final List<Duration> OUTAGES =
            List.of(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(15));
    /** Sent before the workers start; more follow while the chaos lasts, up to {@link #MAX_TASKS}. */
    private static final int UPFRONT = Integer.getInteger("fleet.tasks", 1500);
    private static final int MAX_TASKS = Math.max(UPFRONT, 12_000);
    private static final int BATCH = 100;
    /** The queue is topped up whenever it is shorter than this, so every kill and outage meets a busy fleet. */
    private static final int LOW_WATER = 300;
    private static final String QUEUE = "celery";
    /**
     * A killed worker's messages come back after its heartbeat TTL (10 s) plus one recovery period (5 s); three times
     * that with no change at all in runs, queue or unacked means nothing more is going to happen.
     */
    private static final Duration STALL = Duration.ofSeconds(45);
    private static final Duration DRAIN_DEADLINE = Duration.ofSeconds(150);
    private static final int EXAMPLES = 15;

    @RegisterExtension
    static final RedisServerExtension REDIS = RedisServerExtension.withAppendOnlyFile();

    @Test
    void everyTaskRunsAndOnlyAKillExplainsASecondRun() throws Exception {
        long seed = Long.getLong("fleet.seed", new SecureRandom().nextLong());
        System.out.println("FleetFaultIT seed=" + seed + " (replay with -Dfleet.seed=" + seed + ")");
        Random random = new Random(seed);
        int[] millis = random.ints(MAX_TASKS, 5, 51).toArray();
        List<Step> plan = plan(random);
        Path dir = freshDirectory(Path.of("target", "fleet-fault").toAbsolutePath());
        Timeline timeline = new Timeline();

        try (Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(REDIS.url(0))
                .resultBackend(REDIS.url(1)).build()).build();
             Fleet fleet = new Fleet(dir, timeline)) {
            // This process only sends and inspects: it never reserves, so it takes no part in recovery.
            RedisBroker broker = (RedisBroker) app.broker();
            Publisher publisher = new Publisher(app, millis);
            publisher.publish(0, UPFRONT);
            timeline.note("published " + UPFRONT + " tasks");
            fleet.startAll();
            long planned = plan.stream().mapToLong(Step::plannedMillis).sum();
            AtomicBoolean chaosOver = new AtomicBoolean();
            Background chaos = Background.start("fleet-chaos", () -> {
                try {
                    runPlan(plan, fleet, timeline);
                } finally {
                    chaosOver.set(true);
                }
            });
            // However fast this machine is, the queue never runs dry while the chaos lasts: a kill then interrupts
            // tasks and an outage catches results and acks on their way. The task count follows from it.
            Background sending = Background.start("fleet-publisher", () -> publisher.topUp(broker, UPFRONT,
                    chaosOver::get));
            chaos.join(Duration.ofMillis(planned).plusSeconds(90));
            sending.join(Duration.ofSeconds(30));
            timeline.note("chaos over; waiting for the fleet to finish");

            Drain drain = awaitDrain(dir, broker, publisher);
            timeline.note(drain.describe());
            Verdict verdict = judge(seed, dir, app, broker, publisher, fleet, timeline, drain);
            System.out.println(verdict.summary);
            if (!verdict.problems.isEmpty()) {
                fail(verdict.report());
            }
        }
    }

    // ------------------------------------------------------------------ the plan

    /** One step of the chaos plan, taken after waiting {@code gapMillis} from the end of the previous one. */
    private sealed interface Step permits Kill, Outage {
        long gapMillis();

        long plannedMillis();
    }

    /** SIGKILL the worker in {@code slot}, then start a new one there. */
    private record Kill(long gapMillis, int slot) implements Step {
        public long plannedMillis() {
            return gapMillis;
        }
    }

    /**
     * SIGKILL redis-server, keep it down for {@code length}, start it on the same port and data; if
     * {@code killSlotMidway} is not -1, SIGKILL that slot's worker halfway through.
     */
    private record Outage(long gapMillis, Duration length, int killSlotMidway) implements Step {
        public long plannedMillis() {
            return gapMillis + length.toMillis();
        }
    }

    private static List<Step> plan(Random random) {
        List<Step> steps = new ArrayList<>();
        for (int i = 0; i < KILLS; i++) {
            steps.add(new Kill(gap(random), random.nextInt(WORKERS)));
        }
        List<Duration> outages = new ArrayList<>(OUTAGES);
        Collections.shuffle(outages, random);
        // Outages land between kills, never after the last three: kills after an outage are what expose messages
        // the broker lost track of during it (a consumer it no longer knows never gets its messages recovered).
        List<Integer> positions = new ArrayList<>();
        for (int p = 1; p <= KILLS - 3; p++) {
            positions.add(p);
        }
        Collections.shuffle(positions, random);
        List<Integer> at = new ArrayList<>(positions.subList(0, outages.size()));
        at.sort(Collections.reverseOrder());
        for (int i = 0; i < at.size(); i++) {
            Duration length = outages.get(i);
            // A worker also dies while Redis is down, always in the longest outage. Its replacement starts during the
            // outage, waits for the server and is the first consumer back: it finds every other consumer's heartbeat
            // expired, the moment a broker must still tell live consumers from dead ones.
            int midway = length.toSeconds() >= 15 || (length.toSeconds() >= 5 && random.nextBoolean())
                    ? random.nextInt(WORKERS) : -1;
            steps.add(at.get(i), new Outage(gap(random), length, midway));
        }
        return steps;
    }

    private static long gap(Random random) {
        return 1000 + random.nextInt(2500);
    }

    private static void runPlan(List<Step> plan, Fleet fleet, Timeline timeline) throws Exception {
        for (Step step : plan) {
            Thread.sleep(step.gapMillis());
            if (step instanceof Kill k) {
                fleet.kill(k.slot());
            } else if (step instanceof Outage o) {
                // An outage is to catch every worker with work in hand (running tasks, results and acks on their
                // way), so it waits for replacements started just before it to be consuming.
                fleet.awaitBusy(Duration.ofSeconds(60));
                REDIS.stop();
                long from = System.currentTimeMillis();
                timeline.note(from, "redis-server SIGKILLed for " + o.length().toSeconds() + " s");
                long until = from + o.length().toMillis();
                if (o.killSlotMidway() >= 0) {
                    Thread.sleep(o.length().toMillis() / 2);
                    fleet.kill(o.killSlotMidway());
                }
                Thread.sleep(Math.max(0, until - System.currentTimeMillis()));
                REDIS.start();
                timeline.outage(o.length(), from, System.currentTimeMillis());
            }
        }
    }

    // ------------------------------------------------------------------ the workers

    /**
     * The worker processes: {@link #WORKERS} slots, each holding the latest worker started in it. Like a process
     * supervisor (systemd, Kubernetes) it starts a new worker in a slot whose worker exited by itself, and keeps
     * each such exit for the verdict: a worker must not exit on its own, not even when Redis goes away while it
     * starts (Celery's worker keeps retrying then: {@code broker_connection_retry_on_startup}).
     */
    private static final class Fleet implements AutoCloseable {
        private final Path dir;
        private final Timeline timeline;
        private final Map<Integer, Process> processes = new ConcurrentHashMap<>();
        private final Map<Integer, Long> killedAt = new ConcurrentHashMap<>();
        private final List<String> exits = new CopyOnWriteArrayList<>();
        private final int[] slots = new int[WORKERS];
        private final Thread supervisor = new Thread(this::supervise, "fleet-supervisor");
        private volatile boolean closed;
        private int started;

        Fleet(Path dir, Timeline timeline) {
            this.dir = dir;
            this.timeline = timeline;
            supervisor.setDaemon(true);
        }

        synchronized void startAll() throws IOException {
            for (int slot = 0; slot < WORKERS; slot++) {
                start(slot);
            }
            supervisor.start();
        }

        private synchronized void start(int slot) throws IOException {
            int n = ++started;
            String java = System.getProperty("java.home") + File.separator + "bin" + File.separator + "java";
            // Small, quick-starting JVMs: the machine running CI may have two cores for all of this.
            Process p = new ProcessBuilder(java, "-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-cp", System.getProperty("java.class.path"), FleetWorkerMain.class.getName(), REDIS.url(0),
                    REDIS.url(1), Integer.toString(CONCURRENCY), "fleet-" + n + "@%h",
                    dir.resolve("worker-" + n + ".log").toString(), Integer.toString(slot == 0 ? 4 : 1))
                    .redirectErrorStream(true).redirectOutput(dir.resolve("worker-" + n + ".out").toFile())
                    .start();
            processes.put(n, p);
            slots[slot] = n;
            timeline.note("started worker-" + n + " (pid " + p.pid() + ")");
        }

        synchronized void kill(int slot) throws Exception {
            restartExited();
            int n = slots[slot];
            Process p = processes.get(n);
            // Noted before the signal, so every run that starts elsewhere once this process is dead starts after it.
            long at = System.currentTimeMillis();
            killedAt.put(n, at);
            p.destroyForcibly();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                throw new AssertionError("worker-" + n + " (pid " + p.pid() + ") survived SIGKILL for 10 s");
            }
            timeline.note(at, "SIGKILL worker-" + n + " (pid " + p.pid() + ")");
            start(slot);
        }

        private void supervise() {
            while (!closed) {
                try {
                    restartExited();
                } catch (IOException e) {
                    exits.add("could not start a worker: " + e);
                }
                try {
                    // Restarted no faster than systemd's or Kubernetes' restart delays would.
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        private synchronized void restartExited() throws IOException {
            for (int slot = 0; slot < WORKERS && !closed; slot++) {
                int n = slots[slot];
                Process p = processes.get(n);
                if (!p.isAlive() && !killedAt.containsKey(n)) {
                    String exit = "worker-" + n + " (pid " + p.pid() + ") exited by itself with status "
                            + p.exitValue() + ": " + lastWords(n);
                    exits.add(exit);
                    timeline.note(exit);
                    start(slot);
                }
            }
        }

        /** The exception a worker died of, from its output. */
        private String lastWords(int n) {
            Path out = dir.resolve("worker-" + n + ".out");
            try (Stream<String> lines = Files.lines(out)) {
                return lines.filter(l -> l.startsWith("Exception in thread")).findFirst()
                        .orElse("no exception in " + out);
            } catch (IOException | UncheckedIOException e) {
                return "see " + out;
            }
        }

        /** Waits until the worker in every slot has started a task. */
        void awaitBusy(Duration deadline) throws Exception {
            long end = System.nanoTime() + deadline.toNanos();
            while (true) {
                List<Integer> idle = new ArrayList<>();
                synchronized (this) {
                    for (int n : slots) {
                        Path log = dir.resolve("worker-" + n + ".log");
                        if (!Files.exists(log) || !Files.readString(log).contains("\nstart ")) {
                            idle.add(n);
                        }
                    }
                }
                if (idle.isEmpty()) {
                    return;
                }
                if (System.nanoTime() > end) {
                    throw new AssertionError("workers " + idle + " started no task within " + deadline.toSeconds()
                            + " s; see their output in " + dir);
                }
                Thread.sleep(100);
            }
        }

        Map<Integer, Long> killedAt() {
            return Map.copyOf(killedAt);
        }

        Optional<Long> killedAt(int worker) {
            return Optional.ofNullable(killedAt.get(worker));
        }

        /** Workers that exited although nobody killed them. */
        List<String> exits() {
            return List.copyOf(exits);
        }

        int count() {
            return started;
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            supervisor.interrupt();
            supervisor.join(5000);
            synchronized (this) {
                for (Process p : processes.values()) {
                    p.destroyForcibly();
                }
                for (Process p : processes.values()) {
                    p.waitFor(10, TimeUnit.SECONDS);
                }
            }
        }
    }

    // ------------------------------------------------------------------ sending

    /** Sends the tasks, keeping apart the ids a send confirmed and those of sends that threw. */
    private static final class Publisher {
        private final Celeriac app;
        private final int[] millis;
        private final Set<String> sent = ConcurrentHashMap.newKeySet();
        private final Set<String> maybe = ConcurrentHashMap.newKeySet();
        private final AtomicInteger failedSends = new AtomicInteger();

        Publisher(Celeriac app, int[] millis) {
            this.app = app;
            this.millis = millis;
        }

        /** From task {@code next} on, sends a batch whenever the queue is short, until {@code done}. */
        void topUp(RedisBroker broker, int next, BooleanSupplier done) throws InterruptedException {
            while (!done.getAsBoolean() && next < millis.length) {
                long queued;
                try {
                    queued = broker.queueLength(QUEUE);
                } catch (BrokerUnavailableException e) {
                    queued = 0;
                }
                if (queued < LOW_WATER) {
                    int to = Math.min(next + BATCH, millis.length);
                    publish(next, to);
                    next = to;
                } else {
                    Thread.sleep(100);
                }
            }
        }

        /** Sends tasks {@code from} (inclusive) to {@code to} as one batch, again and again until a send succeeds. */
        void publish(int from, int to) throws InterruptedException {
            long backoff = 250;
            for (int attempt = 1; ; attempt++) {
                List<Signature> batch = new ArrayList<>(to - from);
                List<String> ids = new ArrayList<>(to - from);
                for (int i = from; i < to; i++) {
                    String id = String.format("task-%05d", i) + (attempt == 1 ? "" : "." + attempt);
                    ids.add(id);
                    batch.add(app.signature("fleet.run", List.of(millis[i]), Map.of(),
                            SendOptions.builder().taskId(id).build()));
                }
                try {
                    app.sendAll(batch);
                    sent.addAll(ids);
                    return;
                } catch (BrokerUnavailableException e) {
                    // Such a send may or may not have reached Redis. Resent under the same ids, a double run could
                    // not be told from a broker's duplicate; so the resend gets new ids and these stay "maybe".
                    maybe.addAll(ids);
                    failedSends.incrementAndGet();
                    Thread.sleep(backoff);
                    backoff = Math.min(2000, backoff * 2);
                }
            }
        }
    }

    // ------------------------------------------------------------------ waiting for the end

    private record Drain(boolean finished, String why, long missing, long unacked, long queued) {
        String describe() {
            return finished ? "every task ended, queue and unacked empty"
                    : "stopped waiting (" + why + "): " + missing + " task(s) never ended, " + unacked
                    + " unacked, " + queued + " queued";
        }
    }

    /**
     * Waits until every sent task has ended and nothing is queued or unacked. Gives up after {@link #STALL} without
     * any change, or at {@link #DRAIN_DEADLINE}; the verdict then says what is missing and where it is.
     */
    private static Drain awaitDrain(Path dir, RedisBroker broker, Publisher publisher)
            throws Exception {
        long start = System.nanoTime();
        long lastChange = start;
        String last = "";
        while (true) {
            FleetRuns runs = FleetRuns.read(dir);
            long missing = publisher.sent.stream().filter(id -> !runs.ended(id)).count();
            long unacked = broker.unackedCount();
            long queued = broker.queueLength(QUEUE);
            if (missing == 0 && unacked == 0 && queued == 0) {
                return new Drain(true, "", 0, 0, 0);
            }
            String state = runs.runCount() + "/" + missing + "/" + unacked + "/" + queued;
            long now = System.nanoTime();
            if (!state.equals(last)) {
                last = state;
                lastChange = now;
            }
            if (now - lastChange > STALL.toNanos()) {
                return new Drain(false, "no progress for " + STALL.toSeconds() + " s", missing, unacked, queued);
            }
            if (now - start > DRAIN_DEADLINE.toNanos()) {
                return new Drain(false, "still going after " + DRAIN_DEADLINE.toSeconds() + " s", missing, unacked,
                        queued);
            }
            Thread.sleep(1000);
        }
    }

    // ------------------------------------------------------------------ the verdict

    private record Verdict(long seed, Path dir, String summary, List<String> problems, Timeline timeline) {
        String report() {
            StringBuilder b = new StringBuilder("Fleet fault test failed with seed " + seed
                    + " (replay with -Dfleet.seed=" + seed + "; run logs and worker output in " + dir
                    + ", server log " + REDIS.log() + ")\n");
            for (int i = 0; i < problems.size(); i++) {
                b.append(i + 1).append(". ").append(problems.get(i)).append('\n');
            }
            b.append(summary).append('\n').append("Timeline:\n").append(timeline.render());
            return b.toString();
        }
    }

    private static Verdict judge(long seed, Path dir, Celeriac app, RedisBroker broker, Publisher publisher,
            Fleet fleet, Timeline timeline, Drain drain) throws Exception {
        FleetRuns runs = FleetRuns.read(dir);
        Map<Integer, Long> killedAt = fleet.killedAt();
        List<String> problems = new ArrayList<>();
        List<Unexplained> unexplained = runs.unexplainedRepeats(killedAt);
        Set<String> sent = new TreeSet<>(publisher.sent);
        Set<String> maybe = new TreeSet<>(publisher.maybe);

        try (RedisState redis = RedisState.read(runs)) {
            List<String> missing = sent.stream().filter(id -> !runs.ended(id)).toList();
            if (!missing.isEmpty()) {
                problems.add(missing.size() + " of " + sent.size() + " sent task(s) never ran to their end ("
                        + drain.describe() + "), e.g.:" + examples(missing, id -> id + ": "
                        + describeRuns(runs.runs(id), fleet, timeline) + "; message now " + redis.whereIs(id)));
            }

            if (!unexplained.isEmpty()) {
                problems.add(unexplained.size() + " repeated run(s) not explained by a kill: the task ran again "
                        + "while the process of its previous run was alive (or was killed only later), e.g.:"
                        + examples(unexplained, u -> u.later().task() + ": " + describeRun(u.earlier(), fleet,
                        timeline) + ", then again " + describeRun(u.later(), fleet, timeline)));
            }

            List<String> lost = runs.tasks().stream().filter(runs::ended)
                    .filter(id -> !runs.runs(id).get(runs.runs(id).size() - 1).ended()).sorted().toList();
            if (!lost.isEmpty() && drain.finished()) {
                problems.add(lost.size() + " task(s) whose last run was cut short by a kill and never came back "
                        + "(their message was lost after a redelivery), e.g.:" + examples(lost,
                        id -> id + ": " + describeRuns(runs.runs(id), fleet, timeline)));
            }

            List<String> strays = runs.tasks().stream().filter(id -> !sent.contains(id) && !maybe.contains(id))
                    .sorted().toList();
            if (!strays.isEmpty()) {
                problems.add(strays.size() + " task id(s) ran that the test never sent: " + strays);
            }
            if (!runs.anomalies().isEmpty()) {
                problems.add("run logs hold lines that should not be there: " + runs.anomalies());
            }

            long unacked = broker.unackedCount();
            long queued = broker.queueLength(QUEUE);
            long scheduled = broker.scheduledCount();
            long dead = broker.deadLetterQueue().orElseThrow().count();
            if (unacked > 0) {
                problems.add(unacked + " message(s) left in kombu's unacked hash, e.g.:"
                        + examples(redis.unacked(), e -> e.describe(fleet, timeline)));
            }
            if (queued > 0) {
                problems.add(queued + " message(s) left in queue '" + QUEUE + "': " + redis.queued());
            }
            if (scheduled > 0 || dead > 0) {
                problems.add(scheduled + " message(s) left in celeriac.scheduled and " + dead + " dead letter(s) "
                        + broker.deadLetterQueue().orElseThrow().list(3));
            }
            if (!fleet.exits().isEmpty()) {
                problems.add(fleet.exits().size() + " worker process(es) exited by themselves (the test started "
                        + "new ones, as a supervisor would):" + examples(fleet.exits(), e -> e));
            }
        }

        // Secondary: what the result backend says, for the tasks the run logs say ended.
        List<String> notSuccess = new ArrayList<>();
        for (String id : sent) {
            if (runs.ended(id)) {
                Optional<ResultDocument> doc = app.backend().get(id);
                if (doc.isEmpty() || !"SUCCESS".equals(doc.get().status())) {
                    notSuccess.add(id + " (" + doc.map(ResultDocument::status).orElse("no result") + ")");
                }
            }
        }
        if (!notSuccess.isEmpty()) {
            problems.add(notSuccess.size() + " task(s) ran to their end but the result backend has no SUCCESS for "
                    + "them, e.g.:" + examples(notSuccess, s -> s));
        }

        long maybeRan = maybe.stream().filter(id -> !runs.runs(id).isEmpty()).count();
        String summary = "FleetFaultIT seed=" + seed + ": tasks=" + sent.size() + " runs=" + runs.runCount()
                + " duplicates=" + runs.repeats() + " (explained by kills " + (runs.repeats() - unexplained.size())
                + ") interrupted=" + runs.interrupted() + " kills=" + killedAt.size() + " workers=" + fleet.count()
                + " exits=" + fleet.exits().size() + " outages=" + timeline.outages() + " failed-sends="
                + publisher.failedSends.get() + " (" + maybe.size() + " ids, " + maybeRan + " ran anyway) duration="
                + timeline.elapsed() + " problems=" + problems.size();
        return new Verdict(seed, dir, summary, problems, timeline);
    }

    private static String describeRuns(List<Run> runs, Fleet fleet, Timeline timeline) {
        if (runs.isEmpty()) {
            return "never started";
        }
        return runs.stream().map(r -> describeRun(r, fleet, timeline)).collect(Collectors.joining(", then "));
    }

    private static String describeRun(Run r, Fleet fleet, Timeline timeline) {
        return "ran on worker-" + r.worker() + " (pid " + r.pid() + ") " + timeline.at(r.start()) + ".."
                + (r.ended() ? timeline.at(r.end()) : "never ended") + fleet.killedAt(r.worker())
                .map(k -> " [worker SIGKILLed " + timeline.at(k) + "]").orElse(" [worker never killed]");
    }

    private static <T> String examples(List<T> items, Function<T, String> describe) {
        StringBuilder b = new StringBuilder();
        items.stream().limit(EXAMPLES).forEach(i -> b.append("\n     ").append(describe.apply(i)));
        if (items.size() > EXAMPLES) {
            b.append("\n     ... and ").append(items.size() - EXAMPLES).append(" more");
        }
        return b.toString();
    }

    /** Where messages are in Redis, read directly, so a failure can say who holds what. */
    private static final class RedisState implements AutoCloseable {
        private static final ObjectMapper JSON = new ObjectMapper();
        private final RedisClient client;
        private final RedisCommands<String, String> redis;
        private final Map<String, Integer> workerOfConsumer = new HashMap<>();
        private final Map<String, String> ownerOfTag = new HashMap<>();
        private final Set<String> registered;
        private final List<UnackedEntry> unacked = new ArrayList<>();
        private final List<String> queued = new ArrayList<>();

        private RedisState(FleetRuns runs) {
            client = RedisClient.create(REDIS.url(0));
            StatefulRedisConnection<String, String> c = client.connect();
            redis = c.sync();
            runs.consumers().forEach((worker, consumer) -> workerOfConsumer.put(consumer, worker));
            registered = redis.smembers(RedisBroker.CONSUMERS);
            for (String consumer : workerOfConsumer.keySet()) {
                for (String tag : redis.smembers("celeriac.unacked." + consumer)) {
                    ownerOfTag.put(tag, consumer);
                }
            }
            redis.hgetall(RedisBroker.UNACKED).forEach((tag, value) -> unacked.add(new UnackedEntry(tag,
                    taskIdOfUnacked(value), ownerOfTag.get(tag))));
            unacked.sort((a, b) -> a.task.compareTo(b.task));
            for (String raw : redis.lrange(QUEUE, 0, -1)) {
                queued.add(taskId(raw));
            }
        }

        static RedisState read(FleetRuns runs) {
            return new RedisState(runs);
        }

        List<UnackedEntry> unacked() {
            return unacked;
        }

        List<String> queued() {
            return queued.size() > EXAMPLES ? queued.subList(0, EXAMPLES) : queued;
        }

        String whereIs(String task) {
            if (queued.contains(task)) {
                return "waiting in queue '" + QUEUE + "'";
            }
            for (UnackedEntry e : unacked) {
                if (e.task.equals(task)) {
                    return "in kombu's unacked hash (" + describeOwner(e.owner) + ")";
                }
            }
            return "neither queued nor unacked: lost";
        }

        private String describeOwner(String consumer) {
            if (consumer == null) {
                return "in no fleet consumer's celeriac.unacked set";
            }
            Integer worker = workerOfConsumer.get(consumer);
            boolean beating = redis.exists("celeriac.consumer." + consumer) == 1;
            return "held by consumer " + consumer + " of worker-" + worker + ", which is "
                    + (registered.contains(consumer) ? "registered in celeriac.consumers" : "NOT registered in "
                    + "celeriac.consumers, so recovery will never return it")
                    + (beating ? ", heartbeat alive" : ", heartbeat gone");
        }

        private String taskIdOfUnacked(String value) {
            try {
                return JSON.readTree(value).get(0).path("headers").path("id").asText("?");
            } catch (IOException e) {
                return "? (unreadable entry)";
            }
        }

        private static String taskId(String raw) {
            try {
                JsonNode envelope = JSON.readTree(raw);
                return envelope.path("headers").path("id").asText("?");
            } catch (IOException e) {
                return "? (unreadable message)";
            }
        }

        @Override
        public void close() {
            client.shutdown();
        }

        private final class UnackedEntry {
            final String tag;
            final String task;
            final String owner;

            UnackedEntry(String tag, String task, String owner) {
                this.tag = tag;
                this.task = task;
                this.owner = owner;
            }

            String describe(Fleet fleet, Timeline timeline) {
                Integer worker = owner == null ? null : workerOfConsumer.get(owner);
                String killed = worker == null ? "" : fleet.killedAt(worker).map(k -> " [worker-" + worker
                        + " SIGKILLed " + timeline.at(k) + "]").orElse(" [worker-" + worker + " never killed]");
                return task + " (tag " + tag + ") " + describeOwner(owner) + killed;
            }
        }
    }

    // ------------------------------------------------------------------ bookkeeping

    /** What happened when, relative to the start of the test, for the report. */
    private static final class Timeline {
        private record Event(long at, String what) {
        }

        private final long t0 = System.currentTimeMillis();
        private final List<Event> events = new CopyOnWriteArrayList<>();
        private final List<String> outages = new CopyOnWriteArrayList<>();

        void note(String what) {
            note(System.currentTimeMillis(), what);
        }

        void note(long at, String what) {
            events.add(new Event(at, what));
        }

        void outage(Duration length, long from, long to) {
            note(to, "redis-server back after " + String.format("%.1f s", (to - from) / 1000.0));
            outages.add(length.toSeconds() + "s@" + at(from));
        }

        String at(long epochMillis) {
            return String.format("t+%.3fs", (epochMillis - t0) / 1000.0);
        }

        String outages() {
            return String.join(",", outages);
        }

        String elapsed() {
            return String.format("%.0fs", (System.currentTimeMillis() - t0) / 1000.0);
        }

        String render() {
            return events.stream().sorted(Comparator.comparingLong(Event::at))
                    .map(e -> "  " + at(e.at()) + " " + e.what()).collect(Collectors.joining("\n"));
        }
    }

    /** A thread whose failure is rethrown by {@link #join}. */
    private static final class Background {
        interface Body {
            void run() throws Exception;
        }

        private final Thread thread;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        private Background(String name, Body body) {
            thread = new Thread(() -> {
                try {
                    body.run();
                } catch (Throwable t) {
                    failure.set(t);
                }
            }, name);
            thread.setDaemon(true);
        }

        static Background start(String name, Body body) {
            Background b = new Background(name, body);
            b.thread.start();
            return b;
        }

        void join(Duration deadline) throws Exception {
            thread.join(deadline.toMillis());
            if (thread.isAlive()) {
                thread.interrupt();
                throw new AssertionError(thread.getName() + " did not finish within " + deadline.toSeconds() + " s");
            }
            Throwable t = failure.get();
            if (t instanceof Exception e) {
                throw e;
            }
            if (t instanceof Error e) {
                throw e;
            }
        }
    }

    private static Path freshDirectory(Path dir) throws IOException {
        if (Files.exists(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                for (Path f : (Iterable<Path>) files::iterator) {
                    Files.delete(f);
                }
            }
        }
        return Files.createDirectories(dir);
    }
}
