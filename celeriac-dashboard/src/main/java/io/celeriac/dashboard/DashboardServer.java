package io.celeriac.dashboard;

import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ReconnectBackoff;
import io.javalin.Javalin;
import io.javalin.http.staticfiles.Location;
import org.jspecify.annotations.Nullable;

import static io.celeriac.dashboard.Json.error;

/**
 * The dashboard's web server: Javalin with the static files, {@link Security} in front of every request, the routes
 * of each area ({@link PageRoutes}, {@link LoginRoutes}, {@link TaskRoutes}, {@link WorkerRoutes},
 * {@link QueueRoutes}, {@link ChartRoutes}, {@link ScheduleRoutes}, {@link DeadLetterRoutes}, the
 * {@link LiveStream}), and how exceptions become HTTP statuses.
 */
final class DashboardServer {
    private final Sessions sessions = new Sessions();
    private final Security security;
    private final LiveStream stream;
    private final LoginRoutes login;
    private final PageRoutes pages;
    private final TaskRoutes tasks;
    private final WorkerRoutes workers;
    private final QueueRoutes queues;
    private final ChartRoutes charts;
    private final ScheduleRoutes schedules;
    private final DeadLetterRoutes deadLetters;
    private @Nullable Javalin javalin;

    DashboardServer(Dashboard dashboard, Users users, LiveStream stream) {
        this.security = new Security(users, sessions);
        this.stream = stream;
        this.login = new LoginRoutes(dashboard, users, sessions, stream);
        this.pages = new PageRoutes(dashboard);
        this.tasks = new TaskRoutes(dashboard);
        this.workers = new WorkerRoutes(dashboard);
        this.queues = new QueueRoutes(dashboard);
        this.charts = new ChartRoutes(dashboard);
        this.schedules = new ScheduleRoutes(dashboard);
        this.deadLetters = new DeadLetterRoutes(dashboard);
    }

    void start(String host, int port) {
        javalin = Javalin.create(config -> {
            config.startup.showJavalinBanner = false;
            config.staticFiles.add(s -> {
                s.hostedPath = "/static";
                s.directory = "/io/celeriac/dashboard/static";
                s.location = Location.CLASSPATH;
            });
            config.routes.before(security::authenticate);
            pages.addTo(config.routes);
            login.addTo(config.routes);
            tasks.addTo(config.routes);
            workers.addTo(config.routes);
            queues.addTo(config.routes);
            charts.addTo(config.routes);
            schedules.addTo(config.routes);
            deadLetters.addTo(config.routes);
            stream.addTo(config.routes);

            config.routes.exception(IllegalArgumentException.class, (e, ctx) -> error(ctx, 400, e.getMessage()));
            config.routes.exception(IllegalStateException.class, (e, ctx) -> error(ctx, 409, e.getMessage()));
            config.routes.exception(ClassCastException.class, (e, ctx) -> error(ctx, 400, "wrong type in request"));
            // Redis down or restarting: the page stays up and says so; the call works again once Redis answers.
            config.routes.exception(BrokerUnavailableException.class, (e, ctx) -> error(ctx, 503, e.getMessage()));
            config.routes.exception(io.lettuce.core.RedisException.class, (e, ctx) -> error(ctx, 503,
                    "Redis did not answer (" + ReconnectBackoff.reason(e) + "); try again in a moment"));
            config.routes.exception(HistoryStoreUnavailableException.class, (e, ctx) -> error(ctx, 503,
                    e.getMessage()));
            // A broker without what the call needs (remote control, say): not a failure of the dashboard, and no
            // use repeating; the message names what is missing.
            config.routes.exception(UnsupportedOperationException.class, (e, ctx) -> error(ctx, 501,
                    e.getMessage()));
        });
        javalin.start(host, port);
    }

    int port() {
        return javalin.port();
    }

    void stop() {
        stream.closeAll();
        javalin.stop();
    }

    /**
     * Forgets expired sessions and the live streams that belonged to them, keeps idle streams open, and forgets old
     * failed logins; called every 15 s.
     */
    void housekeeping() {
        long now = System.currentTimeMillis();
        sessions.expire(now);
        stream.housekeeping(sessions::isOpen);
        login.forgetOldFailures(now);
    }
}
