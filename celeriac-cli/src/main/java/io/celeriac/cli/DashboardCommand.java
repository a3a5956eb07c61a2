package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.beat.ScheduleStore;
import io.celeriac.dashboard.Dashboard;
import io.celeriac.dashboard.Role;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;

/**
 * {@code celeriac dashboard}: Flower's job. Web UI, JSON API and {@code /metrics} over the broker's events, queues,
 * dead letters and beat schedules; task history kept across restarts in Redis or a database ({@code --history}).
 */
@Command(name = "dashboard", mixinStandardHelpOptions = true,
        description = "Run the monitoring web UI (workers, tasks, queues, schedules, charts, /metrics).")
final class DashboardCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = "--port", defaultValue = "5555", description = "Port (default: ${DEFAULT-VALUE}).")
    int port;

    @Option(names = "--address", defaultValue = "127.0.0.1", description = "Interface to bind (default: "
            + "${DEFAULT-VALUE}; 0.0.0.0 for every interface, behind TLS).")
    String address;

    @Option(names = "--basic-auth", split = ",", description = "Admin user:password (repeatable, or comma-separated;"
            + " or CELERIAC_DASHBOARD_BASIC_AUTH). Without an admin, user admin gets a generated password.")
    List<String> admins = new ArrayList<>();

    @Option(names = "--readonly-auth", split = ",", description = "Read-only user:password (repeatable; or "
            + "CELERIAC_DASHBOARD_READONLY_AUTH).")
    List<String> viewers = new ArrayList<>();

    @Mixin
    StoreOption store;

    @Option(names = "--history", defaultValue = "${env:CELERIAC_DASHBOARD_HISTORY}", description = "Where the task "
            + "history is kept across restarts: a jdbc: URL (jdbc:postgresql://host/db; user and password from "
            + "CELERIAC_HISTORY_DB_USER / CELERIAC_HISTORY_DB_PASSWORD), a redis:// URL, redis (the broker's), or "
            + "none. Default: the broker's Redis when the broker is Redis, else memory only. Or "
            + "CELERIAC_DASHBOARD_HISTORY.")
    @Nullable String history;

    @Option(names = "--history-size", defaultValue = "100000", description = "Tasks kept in the history "
            + "(default: ${DEFAULT-VALUE}).")
    int historySize;

    @Option(names = {"-Q", "--queues"}, split = ",", description = "Queues to show before any worker reports them.")
    List<String> queues = new ArrayList<>();

    @Mixin
    LogLevelOption logLevel;

    @Override
    public Integer call() throws Exception {
        logLevel.apply();
        CeleriacConfig config = connection.config().build();
        boolean redis = io.celeriac.redis.RedisUrl.isRedisUrl(config.brokerUrl());
        CountDownLatch stop = new CountDownLatch(1);
        try (Celeriac app = Celeriac.builder().config(config).build()) {
            Dashboard.Builder b = Dashboard.builder(app).host(address).port(port).historySize(historySize)
                    .queues(queues.toArray(String[]::new)).historyUrl(history);
            if (!store.none() && (redis || store.given())) {
                ScheduleStore s = store.open(config);
                b.scheduleStore(s);
            }
            addUsers(b, admins, "CELERIAC_DASHBOARD_BASIC_AUTH", Role.ADMIN);
            addUsers(b, viewers, "CELERIAC_DASHBOARD_READONLY_AUTH", Role.READ_ONLY);
            Dashboard dashboard = b.build().start();
            System.out.printf("-> celeriac dashboard: http://%s:%d/%n", address, dashboard.port());
            dashboard.generatedPassword().ifPresent(p -> System.out.printf(
                    "-> no user given: log in as admin with password %s (set --basic-auth to choose)%n", p));
            System.out.flush();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                dashboard.close();
                stop.countDown();
            }, "celeriac-dashboard-stop"));
            stop.await();
        }
        return 0;
    }

    private static void addUsers(Dashboard.Builder b, List<String> given, String env, Role role) {
        List<String> all = new ArrayList<>(given);
        String fromEnv = System.getenv(env);
        if (fromEnv != null && !fromEnv.isBlank()) {
            all.addAll(List.of(fromEnv.split(",")));
        }
        b.users(all, role);
    }
}
