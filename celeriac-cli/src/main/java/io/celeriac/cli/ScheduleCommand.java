package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.beat.Beat;
import io.celeriac.beat.EntryState;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.beat.Schedules;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/** {@code celeriac schedule list|add|edit|enable|disable|remove|run-now}: edit beat entries, also while beat runs. */
@Command(name = "schedule", mixinStandardHelpOptions = true, description = "List and edit periodic tasks.")
final class ScheduleCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", description = "list, add, edit, enable, disable, remove, run-now")
    String action;

    @Parameters(index = "1", arity = "0..1", description = "Entry name.")
    @Nullable String name;

    @Option(names = "--task", description = "Task name (add, edit).")
    @Nullable String task;

    @Option(names = "--every", description = "Interval, e.g. 30s, 5m, 1h.")
    @Nullable String every;

    @Option(names = "--crontab", description = "Unix crontab fields 'm h dom mon dow', e.g. '30 2 * * *'.")
    @Nullable String crontab;

    @Option(names = "--at", description = "One-off time (ISO-8601 instant).")
    @Nullable String at;

    @Option(names = "--tz", description = "Time zone of a crontab (default: the timezone setting).")
    @Nullable String zone;

    @Option(names = {"-a", "--args"}, description = "Positional arguments as a JSON list.")
    @Nullable String args;

    @Option(names = {"-k", "--kwargs"}, description = "Keyword arguments as a JSON object.")
    @Nullable String kwargs;

    @Option(names = {"-Q", "--queue"}, description = "Queue to send to.")
    @Nullable String queue;

    @Option(names = "--skip-missed", description = "After downtime, skip missed runs instead of running the "
            + "latest one once.")
    boolean skipMissed;

    @Mixin
    StoreOption store;

    @Override
    @SuppressWarnings("unchecked")
    public Integer call() {
        // Editing entries and run-now (which prints the task id) read no result: no result backend, so that a broker
        // that cannot hold results (RabbitMQ, the default backend being the broker) is not refused for it.
        CeleriacConfig config = connection.config().resultBackend("memory://").build();
        ScheduleStore s = store.open(config);
        try (Celeriac app = Celeriac.builder().config(config).build()) {
            switch (action) {
                case "list" -> {
                    System.out.printf("%-24s %-28s %-40s %-8s %6s  %s%n", "NAME", "TASK", "SCHEDULE", "ENABLED",
                            "RUNS", "LAST RUN");
                    for (ScheduleEntry e : s.entries()) {
                        EntryState st = s.state(e.name());
                        System.out.printf("%-24s %-28s %-40s %-8s %6d  %s%n", e.name(), e.task(), e.schedule().spec(),
                                e.enabled(), st.totalRunCount(), st.lastRunAt() == null ? "-" : st.lastRunAt());
                    }
                    return 0;
                }
                case "add", "edit" -> {
                    require();
                    ScheduleEntry old = s.entry(name).orElse(null);
                    if (action.equals("add") && old != null) {
                        System.err.println("Entry '" + name + "' exists; use edit");
                        return 1;
                    }
                    if (action.equals("edit") && old == null) {
                        System.err.println("No entry '" + name + "'");
                        return 1;
                    }
                    String spec = every != null ? "every " + every : crontab != null
                            ? "crontab " + crontab + (zone == null ? "" : " " + zone) : at != null ? "at " + at : null;
                    if (old == null && (task == null || spec == null)) {
                        System.err.println("add needs --task and one of --every, --crontab, --at");
                        return 2;
                    }
                    ScheduleEntry e = new ScheduleEntry(name, task != null ? task : old.task(),
                            args != null ? (List<Object>) app.codec().readJson(args) : old == null ? List.of() : old.args(),
                            kwargs != null ? (Map<String, Object>) app.codec().readJson(kwargs)
                                    : old == null ? Map.of() : old.kwargs(),
                            spec != null ? Schedules.parse(spec, config.timezone()) : old.schedule(),
                            queue != null ? queue : old == null ? null : old.queue(),
                            old == null ? null : old.priority(), old == null ? null : old.expiresSeconds(),
                            old == null || old.enabled(), at != null || (old != null && old.oneOff()),
                            old == null ? null : old.startTime(), old == null ? null : old.endTime(),
                            old == null ? !skipMissed : (skipMissed ? false : old.catchUp()));
                    s.save(e);
                    System.out.println((old == null ? "Added " : "Updated ") + name + ": " + e.task() + " "
                            + e.schedule().spec());
                    return 0;
                }
                case "enable", "disable" -> {
                    require();
                    ScheduleEntry e = s.entry(name).orElse(null);
                    if (e == null) {
                        System.err.println("No entry '" + name + "'");
                        return 1;
                    }
                    s.save(e.withEnabled(action.equals("enable")));
                    System.out.println((action.equals("enable") ? "Enabled " : "Disabled ") + name);
                    return 0;
                }
                case "remove" -> {
                    require();
                    boolean removed = s.remove(name);
                    System.out.println(removed ? "Removed " + name : "No entry '" + name + "'");
                    return removed ? 0 : 1;
                }
                case "run-now" -> {
                    require();
                    String id = new Beat(app, s).runNow(name);
                    System.out.println(id);
                    return 0;
                }
                default -> {
                    System.err.println("Unknown action '" + action + "'");
                    return 2;
                }
            }
        } finally {
            if (s instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // closing a client on exit
                }
            }
        }
    }

    private void require() {
        if (name == null) {
            throw new IllegalArgumentException(action + " needs an entry name");
        }
    }
}
