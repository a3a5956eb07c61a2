package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.worker.Worker;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code celeriac worker}: consume queues and run the tasks found in the given packages or classes. */
@Command(name = "worker", mixinStandardHelpOptions = true, description = "Start a worker.")
final class WorkerCommand implements Callable<Integer> {
    @Option(names = {"-A", "--app"}, required = true, split = ",",
            description = "Packages to scan for @Task methods, or classes that have them.")
    List<String> apps = new ArrayList<>();

    @Option(names = {"-Q", "--queues"}, split = ",", description = "Queues to consume (default: task_default_queue).")
    List<String> queues = new ArrayList<>();

    @Option(names = {"-c", "--concurrency"}, description = "Pool size (default: number of CPUs).")
    @Nullable Integer concurrency;

    @Option(names = {"-n", "--hostname"}, description = "Node name, e.g. email@%%h.")
    @Nullable String hostname;

    @Option(names = "--pool", description = "threads, virtual (Java 21+) or solo.")
    @Nullable String pool;

    @Option(names = "--prefetch-multiplier", description = "Messages reserved per pool slot.")
    @Nullable Integer prefetchMultiplier;

    @Mixin
    ConnectionOptions connection;

    @Option(names = {"-E", "--task-events"}, description = "Send Celery's monitoring events.")
    boolean events;

    @Mixin
    LogLevelOption logLevel;

    @Option(names = "--grace", defaultValue = "30", description = "Seconds running tasks get at warm shutdown.")
    long graceSeconds;

    @Option(names = "--max-tasks-per-child", description = "Exit cleanly after this many tasks (for a supervisor "
            + "to restart).")
    @Nullable Integer maxTasksPerChild;

    @Option(names = "--max-memory-per-child", description = "Exit cleanly once the heap in use exceeds this many "
            + "KiB after a task.")
    @Nullable Long maxMemoryPerChild;

    @Override
    public Integer call() throws Exception {
        logLevel.apply();
        CeleriacConfig.Builder cb = connection.config();
        Celeriac.Builder ab = Celeriac.builder().config(cb.build());
        for (String a : apps) {
            Class<?> c = loadClass(a);
            if (c != null) {
                ab.register(c);
            } else {
                ab.scan(a);
            }
        }
        Celeriac app = ab.build();
        if (app.registry().names().isEmpty()) {
            System.err.println("No @Task methods found in " + apps + "; check -A and the classpath.");
            return 2;
        }
        Worker.Builder wb = app.worker().queues(queues);
        if (events) {
            wb.sendEvents(true);
        }
        if (concurrency != null) {
            wb.concurrency(concurrency);
        }
        if (hostname != null) {
            wb.hostname(hostname);
        }
        if (pool != null) {
            wb.pool(pool);
        }
        if (prefetchMultiplier != null) {
            wb.prefetchMultiplier(prefetchMultiplier);
        }
        if (maxTasksPerChild != null) {
            wb.maxTasksPerChild(maxTasksPerChild);
        }
        if (maxMemoryPerChild != null) {
            wb.maxMemoryPerChildKb(maxMemoryPerChild);
        }
        Worker worker = wb.build();
        Signals.install(worker, Duration.ofSeconds(graceSeconds));
        worker.start();
        worker.awaitTermination();
        app.close();
        return 0;
    }

    private static @Nullable Class<?> loadClass(String name) {
        try {
            return Class.forName(name);
        } catch (ClassNotFoundException e) {
            return null;
        }
    }
}
