package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.beat.Beat;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.broker.ReconnectBackoff;
import org.jspecify.annotations.Nullable;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code celeriac beat}: send periodic tasks. Run as many as you like: one holds the lease and sends, the others
 * stand by, and each due time is sent exactly once. It starts while the broker or the store is down, and retries until
 * they answer.
 */
@Command(name = "beat", mixinStandardHelpOptions = true, description = "Run the periodic task scheduler.")
final class BeatCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = {"-A", "--app"}, split = ",", description = "Accepted as in Celery; beat sends tasks by name "
            + "and needs no task classes.")
    java.util.List<String> apps = new java.util.ArrayList<>();

    @Mixin
    StoreOption store;

    @Option(names = "--lease", defaultValue = "10", description = "Lease seconds: the longest a failover takes.")
    double leaseSeconds;

    @Mixin
    LogLevelOption logLevel;

    @Option(names = {"-s", "--schedule"}, description = "A properties file of entries declared in config, one per "
            + "line: name = task; schedule; [args JSON], e.g. cleanup = orders.cleanup_expired_carts; "
            + "crontab 0 3 * * * Europe/Paris; []. Entries not yet in the store are added at start.")
    java.nio.file.@Nullable Path scheduleFile;

    @Override
    public Integer call() throws Exception {
        logLevel.apply();
        // Beat sends tasks by name and never reads a result: no result backend, so that a broker that cannot hold
        // results (RabbitMQ, the default backend being the broker) is not refused for it.
        CeleriacConfig config = connection.config().resultBackend("memory://").build();
        String holder = "beat@" + InetAddress.getLocalHost().getHostName() + ":" + ProcessHandle.current().pid();
        CountDownLatch stop = new CountDownLatch(1);
        try (Celeriac app = Celeriac.builder().config(config).build()) {
            ScheduleStore s = store.open(config);
            if (scheduleFile != null) {
                // A bad file fails the command at once; reaching the store is retried until it answers.
                java.util.List<io.celeriac.beat.ScheduleEntry> entries = read(app, config);
                new ReconnectBackoff(LoggerFactory.getLogger("celeriac.beat")).retry("the schedule store", () -> {
                    declare(s, entries);
                    return null;
                });
            }
            Beat beat = new Beat(app, s, Clock.systemUTC(), holder,
                    Duration.ofMillis(Math.round(leaseSeconds * 1000))).start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                beat.close();
                stop.countDown();
            }, "celeriac-beat-stop"));
            stop.await();
        }
        return 0;
    }

    @SuppressWarnings("unchecked")
    private java.util.List<io.celeriac.beat.ScheduleEntry> read(Celeriac app, CeleriacConfig config)
            throws java.io.IOException {
        java.util.Properties p = new java.util.Properties();
        try (java.io.Reader r = java.nio.file.Files.newBufferedReader(scheduleFile)) {
            p.load(r);
        }
        java.util.List<io.celeriac.beat.ScheduleEntry> entries = new java.util.ArrayList<>();
        for (String name : new java.util.TreeSet<>(p.stringPropertyNames())) {
            String[] parts = p.getProperty(name).split(";", 3);
            if (parts.length < 2) {
                throw new IllegalArgumentException("entry " + name + ": expected 'task; schedule; [args JSON]'");
            }
            java.util.List<Object> args = parts.length == 3 && !parts[2].isBlank()
                    ? (java.util.List<Object>) app.codec().readJson(parts[2].trim()) : java.util.List.of();
            entries.add(new io.celeriac.beat.ScheduleEntry(name, parts[0].trim(), args, java.util.Map.of(),
                    io.celeriac.beat.Schedules.parse(parts[1].trim(), config.timezone()), null, null, null, true,
                    false, null, null, true));
        }
        return entries;
    }

    private static void declare(ScheduleStore s, java.util.List<io.celeriac.beat.ScheduleEntry> entries) {
        for (io.celeriac.beat.ScheduleEntry e : entries) {
            if (s.entry(e.name()).isEmpty()) {
                s.save(e); // entries already there win: edits made at run time are not undone by a restart
            }
        }
    }
}
