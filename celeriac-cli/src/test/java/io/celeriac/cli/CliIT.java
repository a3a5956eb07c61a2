package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultDocument;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.SendOptions;
import io.celeriac.backend.TaskState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/** The real {@code celeriac} jar as a subprocess against a redis-server the test starts. */
class CliIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    private final List<Process> processes = new ArrayList<>();
    private Celeriac app;
    private String b;
    private String rb;

    @BeforeEach
    void setUp() {
        b = REDIS.url(0);
        rb = REDIS.url(1);
        app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(b).resultBackend(rb).build()).build();
        for (String q : List.of("celery", "email", "render", "nobody")) {
            app.broker().purge(q);
        }
    }

    @AfterEach
    void tearDown() {
        processes.forEach(Process::destroyForcibly);
        app.close();
    }

    private Process worker(String name, int concurrency, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("worker", "-A", "io.celeriac.examples", "-Q",
                "celery,email,render", "-c", Integer.toString(concurrency), "-n", name + "@%h", "-b", b,
                "--result-backend", rb));
        args.addAll(List.of(extra));
        Process p = CeleriacJar.start(name, args.toArray(String[]::new));
        processes.add(p);
        await().atMost(Duration.ofSeconds(30)).until(() -> CeleriacJar.log(name).contains("ready:"));
        return p;
    }

    @Test
    void demoRunsOnItsEmbeddedRedisAndPrintsWhatHappens() throws Exception {
        CeleriacJar.Result demo = CeleriacJar.run("demo");
        assertThat(demo.exitCode()).isZero();
        assertThat(demo.out()).contains("Started an embedded Redis at redis://127.0.0.1:")
                .contains("All 8 tasks finished:").contains("pdf for order 1002     SUCCESS")
                .containsPattern("Beat sent the periodic entry demo.heartbeat .* [1-9][0-9]* time");
    }

    @Test
    void demoWithTheDashboardServesItUntilSigtermAndLeavesNoRedisBehind() throws Exception {
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process demo = CeleriacJar.start("demo-dashboard", "demo", "--dashboard", "--dashboard-port",
                Integer.toString(port));
        processes.add(demo);
        await().atMost(Duration.ofSeconds(60)).until(() -> CeleriacJar.log("demo-dashboard")
                .contains("the dashboard, worker and beat keep running"));
        String log = CeleriacJar.log("demo-dashboard");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("user admin, password (\\S+)\\)").matcher(log);
        assertThat(m.find()).isTrue();
        java.util.regex.Matcher redis = java.util.regex.Pattern.compile("embedded Redis at redis://127.0.0.1:(\\d+)")
                .matcher(log);
        assertThat(redis.find()).isTrue();
        java.net.http.HttpResponse<String> tasks = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port
                        + "/api/tasks?name=demo.render_pdf")).header("Authorization", "Basic "
                        + java.util.Base64.getEncoder().encodeToString(("admin:" + m.group(1))
                        .getBytes(java.nio.charset.StandardCharsets.UTF_8))).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(tasks.statusCode()).isEqualTo(200);
        assertThat(tasks.body()).contains("\"total\":2").contains("order-1001-render_pdf");

        CeleriacJar.signal(demo, "TERM");
        assertThat(demo.waitFor(30, TimeUnit.SECONDS)).isTrue();
        // The embedded redis-server went with it.
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            try (java.net.Socket s = new java.net.Socket("127.0.0.1", Integer.parseInt(redis.group(1)))) {
                return false;
            } catch (java.io.IOException e) {
                return true;
            }
        });
    }

    @Test
    void eachSubcommandAgainstARunningWorker() throws Exception {
        worker("cli", 4, "-E");

        CeleriacJar.Result call = CeleriacJar.run("call", "demo.add", "--args", "[2, 3]", "--wait", "20", "-b", b,
                "--result-backend", rb);
        assertThat(call.exitCode()).isZero();
        String id = call.out().lines().filter(l -> l.matches("[0-9a-f-]{36}")).findFirst().orElseThrow();
        assertThat(call.out()).contains("\n5");

        assertThat(CeleriacJar.run("result", id, "-b", b, "--result-backend", rb).out()).contains("SUCCESS 5");
        assertThat(CeleriacJar.run("status", "-b", b).out()).contains("cli@").contains("1 node online.");
        CeleriacJar.Result ping = CeleriacJar.run("inspect", "ping", "-b", b);
        assertThat(ping.exitCode()).isZero();
        assertThat(ping.out()).contains("cli@").contains("pong");
        assertThat(CeleriacJar.run("inspect", "registered", "-b", b).out()).contains("demo.add")
                .contains("demo.render_pdf");
        assertThat(CeleriacJar.run("inspect", "stats", "-b", b, "--json").out()).contains("\"total\"")
                .contains("\"demo.add\":1");
        assertThat(CeleriacJar.run("control", "rate_limit", "demo.add", "100/s", "-b", b).out())
                .contains("new rate limit set successfully");
        assertThat(CeleriacJar.run("control", "pool_grow", "2", "-b", b).out()).contains("pool will grow");
        assertThat(CeleriacJar.run("inspect", "stats", "-b", b, "--json").out()).contains("\"max-concurrency\":6");

        CeleriacJar.run("call", "demo.add", "--args", "[1, 1]", "--queue", "nobody", "-b", b);
        CeleriacJar.run("call", "demo.add", "--args", "[1, 2]", "--queue", "nobody", "-b", b);
        // Redis keeps no record of who reads a list: the consumer count is unknown, not a partial count.
        assertThat(CeleriacJar.run("queues", "nobody", "celery", "-b", b).out())
                .containsPattern("QUEUE\\s+WAITING\\s+CONSUMERS").containsPattern("nobody\\s+2\\s+unknown")
                .containsPattern("celery\\s+\\d+\\s+unknown");
        CeleriacJar.Result refused = CeleriacJar.run("purge", "-Q", "nobody", "-b", b);
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.out()).contains("Nothing purged");
        assertThat(CeleriacJar.run("purge", "-Q", "nobody", "-f", "-b", b).out()).contains("Purged 2 message(s)");

        Process events = CeleriacJar.start("events", "events", "-b", b);
        processes.add(events);
        await().atMost(Duration.ofSeconds(20)).until(() -> CeleriacJar.log("events").contains("listening"));
        AsyncResult r = app.task("demo.add").delay(40, 2);
        assertThat(r.get(Duration.ofSeconds(10))).isEqualTo(42);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(CeleriacJar.log("events"))
                .contains("task-received demo.add[" + r.id() + "]").contains("task-succeeded " + r.id())
                .contains("result=42"));

        assertThat(CeleriacJar.run("control", "revoke", "some-id", "-b", b).out()).contains("flagged as revoked");
    }

    @Test
    void aTaskThatFailsPrintsItsStateExceptionAndRemoteTracebackAndExitsNonZero() throws Exception {
        processes.add(CeleriacJar.startWithTasks("failing", "worker", "-A", CliTestTasks.class.getName(), "-Q",
                "celery", "-c", "2", "-n", "failing@%h", "-b", b, "--result-backend", rb));
        await().atMost(Duration.ofSeconds(30)).until(() -> CeleriacJar.log("failing").contains("ready:"));

        // A task that raises: celery call + celery result in one, as lines a person or a script can read.
        CeleriacJar.Result call = CeleriacJar.run("call", "cli.fail", "--args", "[\"payments\"]", "--wait", "20",
                "-b", b, "--result-backend", rb);
        assertThat(call.exitCode()).as(call.out()).isEqualTo(1);
        List<String> lines = call.out().lines().toList();
        String id = lines.get(0);
        assertThat(id).matches("[0-9a-f-]{36}");
        assertThat(lines.get(1)).isEqualTo("FAILURE java.lang.IllegalStateException: upstream down for payments");
        // The worker's traceback, remote: where the task raised, not where the command waited.
        assertThat(lines.get(2)).isEqualTo("java.lang.IllegalStateException: upstream down for payments");
        assertThat(call.out()).contains("at io.celeriac.cli.CliTestTasks.fail(");
        assertNoLocalStackTrace(call.out());

        CeleriacJar.Result result = CeleriacJar.run("result", id, "-b", b, "--result-backend", rb);
        assertThat(result.exitCode()).isEqualTo(1);
        assertThat(result.out().lines().toList()).startsWith(
                "FAILURE java.lang.IllegalStateException: upstream down for payments",
                "java.lang.IllegalStateException: upstream down for payments");
        assertThat(result.out()).contains("at io.celeriac.cli.CliTestTasks.fail(");
        assertNoLocalStackTrace(result.out());
        assertThat(CeleriacJar.run("result", id, "--wait", "--timeout", "5", "-b", b, "--result-backend", rb).out())
                .startsWith("FAILURE java.lang.IllegalStateException: upstream down for payments\n");

        // A task past its hard time limit fails the same way.
        CeleriacJar.Result overrun = CeleriacJar.run("call", "cli.overrun", "--wait", "20", "-b", b,
                "--result-backend", rb);
        assertThat(overrun.exitCode()).as(overrun.out()).isEqualTo(1);
        assertThat(overrun.out().lines().toList().get(1))
                .startsWith("FAILURE io.celeriac.task.TimeLimitExceeded: TimeLimitExceeded(1");
        assertNoLocalStackTrace(overrun.out());

        // Waiting that runs out is not the task's failure: the state so far, and how to go on waiting.
        CeleriacJar.Result slow = CeleriacJar.run("call", "cli.nap", "--args", "[4000]", "--wait", "0.5", "-b", b,
                "--result-backend", rb);
        assertThat(slow.exitCode()).as(slow.out()).isEqualTo(1);
        String slowId = slow.out().lines().findFirst().orElseThrow();
        assertThat(slow.out().lines().toList()).contains("PENDING");
        assertThat(slow.out()).contains("celeriac call: no result within 0.5 s; the task may still finish: "
                + "celeriac result " + slowId + " --wait");
        assertNoLocalStackTrace(slow.out());
        assertThat(CeleriacJar.run("result", slowId, "--wait", "--timeout", "20", "-b", b, "--result-backend", rb)
                .out()).isEqualTo("SUCCESS \"rested\"\n");
    }

    /** Nothing of the command's own Java stack: no exception class of ours, no frame of the CLI or picocli. */
    private static void assertNoLocalStackTrace(String out) {
        assertThat(out).doesNotContain("TaskFailedException").doesNotContain("ResultTimeoutException")
                .doesNotContain("at picocli.").doesNotContain("at io.celeriac.cli.CallCommand")
                .doesNotContain("at io.celeriac.cli.ResultCommand").doesNotContain("Exception in thread");
    }

    @Test
    void dashboardPrintsAGeneratedPasswordAndServesTheApiOnLoopback() throws Exception {
        worker("board", 2, "-E");
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Process dash = CeleriacJar.start("dashboard", "dashboard", "--port", Integer.toString(port), "-b", b,
                "--readonly-auth", "viewer:look");
        processes.add(dash);
        await().atMost(Duration.ofSeconds(30)).until(() -> CeleriacJar.log("dashboard").contains("password"));
        String log = CeleriacJar.log("dashboard");
        assertThat(log).contains("celeriac dashboard: http://127.0.0.1:" + port + "/");
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("as admin with password (\\S+)").matcher(log);
        assertThat(m.find()).isTrue();
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.util.function.Function<String, java.net.http.HttpResponse<String>> get = auth -> {
            try {
                java.net.http.HttpRequest.Builder rb = java.net.http.HttpRequest.newBuilder(
                        java.net.URI.create("http://127.0.0.1:" + port + "/api/workers"));
                if (auth != null) {
                    rb.header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(
                            auth.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
                }
                return http.send(rb.build(), java.net.http.HttpResponse.BodyHandlers.ofString());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        assertThat(get.apply(null).statusCode()).isEqualTo(401);
        assertThat(get.apply("viewer:look").statusCode()).isEqualTo(200);
        String admin = "admin:" + m.group(1);
        await().atMost(Duration.ofSeconds(20)).until(() -> get.apply(admin).body().contains("board@"));
        assertThat(get.apply(admin).body()).contains("\"online\":true");
    }

    @Test
    void dashboardOnABrokerThatIsNotRedisKeepsItsHistoryInTheDatabaseGiven()
            throws Exception {
        java.nio.file.Path dir = java.nio.file.Files.createTempDirectory(java.nio.file.Path.of("target"), "history")
                .toAbsolutePath();
        int port;
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String h2 = "jdbc:h2:file:" + dir.resolve("history");
        Process dash = CeleriacJar.start("dashboard-jdbc", "dashboard", "--port", Integer.toString(port), "-b",
                "memory://", "--history", h2, "--basic-auth", "ops:pw");
        processes.add(dash);
        await().atMost(Duration.ofSeconds(30)).until(() -> CeleriacJar.log("dashboard-jdbc")
                .contains("celeriac dashboard: http://127.0.0.1:" + port + "/"));
        assertThat(CeleriacJar.log("dashboard-jdbc"))
                .contains("task history in the dashboard's history database at " + h2);
        java.net.http.HttpResponse<String> me = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + port + "/api/me"))
                        .header("Authorization", "Basic " + java.util.Base64.getEncoder().encodeToString(
                                "ops:pw".getBytes(java.nio.charset.StandardCharsets.UTF_8))).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(me.statusCode()).isEqualTo(200);
        assertThat(me.body()).contains("\"notices\":[]");
        assertThat(dir.resolve("history.mv.db")).exists();
        assertThat(CeleriacJar.log("dashboard-jdbc")).doesNotContain("Redis");
    }

    @Test
    void scheduleCommandsEditEntriesThatARunningBeatPicksUp() throws Exception {
        worker("sched", 2);
        java.nio.file.Path file = java.nio.file.Files.createTempFile("beat", ".properties");
        java.nio.file.Files.writeString(file, "declared = demo.add; every 1s; [20, 22]\n");
        Process beat = CeleriacJar.start("beat", "beat", "-b", b, "--result-backend", rb, "-s", file.toString());
        processes.add(beat);
        await().atMost(Duration.ofSeconds(30)).until(() -> CeleriacJar.log("beat").contains("Sending due task declared"));

        assertThat(CeleriacJar.run("schedule", "add", "often", "--task", "demo.add", "--every", "1s", "--args",
                "[1, 2]", "-b", b).out()).contains("Added often: demo.add every 1s");
        await().atMost(Duration.ofSeconds(10)).until(() -> CeleriacJar.log("beat").contains("Sending due task often"));
        assertThat(CeleriacJar.run("schedule", "list", "-b", b).out()).contains("declared").contains("often")
                .contains("every 1s");
        assertThat(CeleriacJar.run("schedule", "disable", "often", "-b", b).out()).contains("Disabled often");
        assertThat(CeleriacJar.run("schedule", "edit", "often", "--crontab", "30 2 * * *", "--tz", "Europe/Paris",
                "-b", b).out()).contains("crontab 30 2 * * * Europe/Paris");
        assertThat(CeleriacJar.run("schedule", "enable", "often", "-b", b).out()).contains("Enabled often");
        String id = CeleriacJar.run("schedule", "run-now", "often", "-b", b).out().trim();
        assertThat(app.result(id).get(Duration.ofSeconds(20))).isEqualTo(3);
        assertThat(CeleriacJar.run("schedule", "remove", "often", "-b", b).out()).contains("Removed often");
        assertThat(CeleriacJar.run("schedule", "list", "-b", b).out()).doesNotContain("often");
    }

    private List<AsyncResult> slowTasks(int n, int pages) {
        List<AsyncResult> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            // Sent by name from an app without the task class, so the queue is given, as a Python producer would.
            out.add(app.applyAsync("demo.render_pdf", List.of(i, pages), Map.of(),
                    SendOptions.builder().queue("render").build()));
        }
        return out;
    }

    private long succeeded(List<AsyncResult> results) {
        return results.stream().filter(r -> r.document().map(ResultDocument::status)
                .filter(TaskState.SUCCESS::equals).isPresent()).count();
    }

    @Test
    void warmShutdownUnderLoadFinishesRunningTasksAndGivesTheRestBack() throws Exception {
        List<AsyncResult> results = slowTasks(20, 4); // ~0.6 s each, acks-late
        Process w = worker("warm", 2, "--prefetch-multiplier", "2");
        await().atMost(Duration.ofSeconds(30)).until(() -> succeeded(results) >= 2);

        CeleriacJar.signal(w, "TERM");
        assertThat(w.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(w.exitValue()).isZero();
        long completed = succeeded(results);
        long waiting = app.broker().queueLength("render");
        // Everything either finished or went back to the queue; nothing half-done, nothing lost.
        assertThat(completed + waiting).isEqualTo(20);
        assertThat(waiting).isPositive();
        assertThat(CeleriacJar.log("warm")).contains("warm shutdown").contains("gave").contains("stopped after "
                + completed + " task(s)");

        worker("warm2", 4);
        await().atMost(Duration.ofSeconds(60)).until(() -> succeeded(results) == 20);
    }

    @Test
    void secondSigtermIsAColdShutdownThatReturnsRunningAcksLateTasks() throws Exception {
        List<AsyncResult> results = slowTasks(6, 30); // ~4.5 s each, acks-late
        Process w = worker("cold", 2, "--prefetch-multiplier", "1");
        await().atMost(Duration.ofSeconds(30)).until(() -> CeleriacJar.log("cold").contains("received"));
        await().atMost(Duration.ofSeconds(10)).until(() -> results.stream()
                .anyMatch(r -> "PROGRESS".equals(r.state())));

        CeleriacJar.signal(w, "TERM");
        // Two signals sent back to back can merge into one pending signal: send the second once the first is seen.
        await().atMost(Duration.ofSeconds(10)).until(() -> CeleriacJar.log("cold").contains("warm shutdown"));
        CeleriacJar.signal(w, "TERM");
        assertThat(w.waitFor(30, TimeUnit.SECONDS)).isTrue();
        long completed = succeeded(results);
        assertThat(completed).as("nothing finished before the cold shutdown").isZero();
        assertThat(CeleriacJar.log("cold")).contains("cold shutdown").contains("returned to the queue");
        await().atMost(Duration.ofSeconds(10)).until(() -> app.broker().queueLength("render") == 6);

        worker("cold2", 6);
        await().atMost(Duration.ofSeconds(60)).until(() -> succeeded(results) == 6);
    }
}
