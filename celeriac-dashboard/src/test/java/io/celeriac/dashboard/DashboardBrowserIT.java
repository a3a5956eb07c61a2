package io.celeriac.dashboard;

import io.celeriac.beat.IntervalSchedule;
import io.celeriac.beat.ScheduleEntry;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.SendOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.Keys;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.chromium.HasPermissions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dashboard in a real browser: Debian's headless Chromium driven by Selenium through the system chromedriver
 * (nothing downloaded). Logs in, watches a task go live from received to success, filters and searches, retries a
 * failed task, edits a schedule, proves task-supplied markup never runs, and saves a screenshot of every page
 * under {@code target/screenshots}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class DashboardBrowserIT {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();

    static final Path SHOTS = Path.of("target", "screenshots");
    static final String CHROMIUM = System.getProperty("celeriac.chromium", "/usr/bin/chromium");
    static final String CHROMEDRIVER = System.getProperty("celeriac.chromedriver", "/usr/bin/chromedriver");

    static DashboardFixture f;
    static WebDriver browser;
    static Path profile;

    @BeforeAll
    static void start() throws Exception {
        if (!new File(CHROMIUM).canExecute() || !new File(CHROMEDRIVER).canExecute()) {
            throw new IllegalStateException("browser tests need Debian's chromium and chromium-driver ("
                    + CHROMIUM + ", " + CHROMEDRIVER + "): apt-get install -y chromium chromium-driver");
        }
        Files.createDirectories(SHOTS);
        f = new DashboardFixture(REDIS);
        profile = Files.createTempDirectory("celeriac-chromium");
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        // Without the background-networking flags Chromium keeps dialing Google's hosts, which a closed network
        // refuses; a fresh profile keeps runs independent.
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER)).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (f != null) {
            f.close();
        }
    }

    static WebDriverWait waitUpTo(int seconds) {
        return new WebDriverWait(browser, Duration.ofSeconds(seconds), Duration.ofMillis(50));
    }

    static void shot(String name) throws Exception {
        File png = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Files.copy(png.toPath(), SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
    }

    static Object js(String script, Object... args) {
        return ((JavascriptExecutor) browser).executeScript(script, args);
    }

    static String stateOf(String id) {
        // Read in one script: the table is re-rendered live, so an element found a moment ago may be gone.
        return (String) js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;",
                "#tasks-body tr[data-id='" + id + "'] .state");
    }

    /** Text of the first match, or null; in one script, since live tables are redrawn at any moment. */
    static String text(String css) {
        return (String) js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null;", css);
    }

    /** Clicks the first match in one script (see {@link #text}). */
    static void click(String css) {
        waitUpTo(10).until(d -> (Boolean) js("const e = document.querySelector(arguments[0]);"
                + " if (!e) return false; e.click(); return true;", css));
    }

    static void confirm() {
        waitUpTo(5).until(d -> d.findElement(By.id("confirm")).isDisplayed());
        browser.findElement(By.id("confirm-ok")).click();
    }

    @Test
    @Order(1)
    void logsIn() throws Exception {
        browser.get(f.base() + "/tasks");
        waitUpTo(10).until(d -> d.getCurrentUrl().contains("/login"));
        browser.findElement(By.id("username")).sendKeys(DashboardFixture.ADMIN);
        browser.findElement(By.id("password")).sendKeys("wrong");
        browser.findElement(By.id("login")).click();
        waitUpTo(10).until(d -> d.getCurrentUrl().contains("failed=1"));
        assertThat(browser.findElement(By.className("error")).getText()).contains("Wrong user name or password");
        shot("01-login");
        browser.findElement(By.id("username")).sendKeys(DashboardFixture.ADMIN);
        browser.findElement(By.id("password")).sendKeys(DashboardFixture.ADMIN_PASSWORD);
        browser.findElement(By.id("login")).click();
        waitUpTo(10).until(d -> d.getCurrentUrl().endsWith("/tasks"));
        waitUpTo(10).until(d -> d.findElement(By.id("live")).getText().equals("live"));
        assertThat(browser.findElement(By.cssSelector(".user")).getText()).contains("ops").contains("admin");
    }

    @Test
    @Order(2)
    void watchesATaskGoFromReceivedToSuccessLive() throws Exception {
        browser.get(f.base() + "/tasks");
        waitUpTo(10).until(d -> d.findElement(By.id("live")).getText().equals("live"));
        // A marker that a page reload would wipe out: the update must arrive without one.
        js("window.__sameDocument = 'yes';");
        String id = UUID.randomUUID().toString();
        f.app.applyAsync("dash.slow", List.of("live", 1500), Map.of(), SendOptions.builder().taskId(id).build());
        List<String> seen = new ArrayList<>();
        waitUpTo(20).until(d -> {
            String s = stateOf(id);
            if (s != null && (seen.isEmpty() || !seen.get(seen.size() - 1).equals(s))) {
                seen.add(s);
            }
            return "SUCCESS".equals(s);
        });
        assertThat(seen.get(0)).isIn("RECEIVED", "STARTED");
        assertThat(seen).endsWith("SUCCESS");
        assertThat(js("return window.__sameDocument;")).isEqualTo("yes");
        shot("02-tasks-live");

        click("#tasks-body tr[data-id='" + id + "'] a");
        waitUpTo(10).until(d -> d.findElements(By.id("task-events")).size() == 1);
        assertThat(browser.findElement(By.id("task-result")).getText()).isEqualTo("'live'");
        assertThat(browser.findElement(By.id("task-events")).getText()).contains("task-received")
                .contains("task-started").contains("task-succeeded");
        shot("03-task-detail");
    }

    @Test
    @Order(3)
    void filtersAndSearches() throws Exception {
        AsyncResult ok = f.app.delay("dash.add", 7, 8);
        AsyncResult bad = f.app.delay("dash.flaky", "filter-me");
        ok.get(Duration.ofSeconds(10));
        browser.get(f.base() + "/tasks");
        waitUpTo(15).until(d -> "FAILURE".equals(stateOf(bad.id())) && "SUCCESS".equals(stateOf(ok.id())));
        new Select(browser.findElement(By.id("filter-state"))).selectByValue("FAILURE");
        waitUpTo(10).until(d -> stateOf(ok.id()) == null && stateOf(bad.id()) != null);
        assertThat(browser.findElements(By.cssSelector("#tasks-body .state"))).allSatisfy(e ->
                assertThat(e.getText()).isEqualTo("FAILURE"));
        assertThat(browser.getCurrentUrl()).contains("state=FAILURE");

        new Select(browser.findElement(By.id("filter-state"))).selectByValue("");
        browser.findElement(By.id("search")).sendKeys("filter-me");
        waitUpTo(10).until(d -> d.findElements(By.cssSelector("#tasks-body tr")).size() == 1
                && stateOf(bad.id()) != null);
        assertThat(browser.findElement(By.id("tasks-count")).getText()).startsWith("1–1 of 1");
        shot("04-tasks-filtered");

        browser.findElement(By.id("search")).sendKeys(Keys.chord(Keys.CONTROL, "a"), Keys.BACK_SPACE);
        new Select(browser.findElement(By.id("filter-name"))).selectByValue("dash.add");
        waitUpTo(10).until(d -> stateOf(ok.id()) != null && stateOf(bad.id()) == null);
    }

    @Test
    @Order(4)
    void retriesAFailedTask() throws Exception {
        AsyncResult bad = f.app.delay("dash.flaky", "retry-in-browser");
        browser.get(f.base() + "/failed");
        String row = "#failed-body tr[data-id='" + bad.id() + "']";
        waitUpTo(15).until(d -> text(row) != null);
        assertThat(text(row)).contains("upstream unavailable for retry-in-browser");
        click(row + " button.retry");
        confirm();
        // Lists show the first 8 characters of an id; the link carries the whole one.
        String newId = waitUpTo(15).until(d -> (String) js("const a = document.querySelector(arguments[0]);"
                + " return a ? a.dataset.fullId : null;", "#failed-body tr[data-id='" + bad.id() + "'] td:nth-child(7) a"));
        assertThat(newId).isNotEqualTo(bad.id());
        shot("05-failed-retried");
        browser.get(f.base() + "/tasks/" + newId);
        // The result backend can answer before the worker's events reach the history; the page then shows
        // the result first and the link back to the failed task once the events arrive (a live reload).
        waitUpTo(15).until(d -> !d.findElements(By.cssSelector("#task-detail .state.SUCCESS")).isEmpty()
                && d.findElement(By.id("task-detail")).getText().contains(bad.id()));
        assertThat(browser.findElement(By.id("task-result")).getText()).isEqualTo("'ok retry-in-browser'");
        assertThat(browser.findElement(By.id("task-detail")).getText()).contains("Retry of").contains(bad.id());
    }

    @Test
    @Order(5)
    void editsASchedule() throws Exception {
        f.schedules.save(ScheduleEntry.of("report", "dash.add", IntervalSchedule.every(Duration.ofMinutes(5)), 1, 2));
        browser.get(f.base() + "/schedules");
        String row = "#schedules-body tr[data-schedule='report']";
        waitUpTo(10).until(d -> text(row) != null);
        click(row + " button.edit");
        WebElement spec = browser.findElement(By.id("sched-schedule"));
        assertThat(spec.getAttribute("value")).isEqualTo("every 300s");
        spec.clear();
        spec.sendKeys("crontab */10 * * * *");
        WebElement args = browser.findElement(By.id("sched-args"));
        args.clear();
        args.sendKeys("[40, 2]");
        browser.findElement(By.id("sched-save")).click();
        waitUpTo(10).until(d -> text(row) != null && text(row).contains("crontab */10 * * * *"));
        ScheduleEntry saved = f.schedules.entry("report").orElseThrow();
        assertThat(saved.schedule().spec()).startsWith("crontab */10 * * * *");
        assertThat(saved.args()).containsExactly(40, 2);

        click(row + " button.toggle");
        confirm();
        waitUpTo(10).until(d -> !f.schedules.entry("report").orElseThrow().enabled());
        waitUpTo(10).until(d -> "Enable".equals(text(row + " button.toggle")));
        shot("06-schedules");
    }

    @Test
    @Order(6)
    void showsWorkersQueuesAndCharts() throws Exception {
        browser.get(f.base() + "/workers");
        String worker = "#workers-body tr[data-worker='java@dash']";
        waitUpTo(15).until(d -> text(worker) != null && text(worker).contains("online"));
        assertThat(text(worker)).contains("celery");
        shot("07-workers");

        browser.get(f.base() + "/queues");
        waitUpTo(10).until(d -> text("#queues-body tr[data-queue='celery']") != null);
        assertThat(text("#queues-body tr[data-queue='celery']")).contains("java@dash");
        assertThat(text("#queues thead")).contains("Consumers").contains("Workers");
        // Redis keeps no count of who reads a list: shown as unknown, never as a number that leaves workers out.
        assertThat(text("#queues-body tr[data-queue='celery'] td.consumer-count")).isEqualTo("\u2014");
        shot("08-queues");

        browser.get(f.base() + "/charts");
        waitUpTo(10).until(d -> d.findElements(By.cssSelector("#charts svg")).size() == 4);
        assertThat(browser.findElement(By.id("charts")).getText()).contains("Throughput by task").contains("dash.add")
                .contains("Run time percentiles").contains("Queue length");
        shot("09-charts");
    }

    @Test
    @Order(7)
    void markupInTaskArgumentsIsShownAsTextAndNeverRuns() throws Exception {
        String payload = "<script>window.__xss='script'</script><img src=x onerror=\"window.__xss='img'\">";
        AsyncResult r = f.app.delay("dash.echo", payload);
        r.get(Duration.ofSeconds(10));
        browser.get(f.base() + "/tasks?search=__xss");
        waitUpTo(15).until(d -> "SUCCESS".equals(stateOf(r.id())));
        assertThat(text("#tasks-body tr[data-id='" + r.id() + "'] td:nth-child(4)")).contains("<script>")
                .contains("onerror=");
        assertThat(browser.findElements(By.cssSelector("#tasks-body script, #tasks-body img"))).isEmpty();
        assertThat(js("return typeof window.__xss;")).isEqualTo("undefined");
        shot("10-xss-list");

        browser.get(f.base() + "/tasks/" + r.id());
        waitUpTo(10).until(d -> !d.findElements(By.id("task-result")).isEmpty());
        assertThat(browser.findElement(By.id("task-args")).getText()).contains("<img src=x");
        assertThat(browser.findElement(By.id("task-result")).getText()).contains("<script>");
        assertThat(browser.findElements(By.cssSelector("main script, main img"))).isEmpty();
        assertThat(js("return typeof window.__xss;")).isEqualTo("undefined");
        shot("11-xss-detail");
    }

    @Test
    @Order(8)
    void showsATasksWorkflowLiveAndOpensItInTheTaskList() throws Exception {
        // A plain task is a workflow of its own: no section.
        AsyncResult plain = f.app.delay("dash.add", 1, 1);
        plain.get(Duration.ofSeconds(10));
        browser.get(f.base() + "/tasks/" + plain.id());
        waitUpTo(15).until(d -> !d.findElements(By.cssSelector("#task-detail .state.SUCCESS")).isEmpty());
        assertThat(browser.findElements(By.cssSelector("#workflow *"))).isEmpty();

        // A chain of two slow steps, watched from the first step's page: the second appears and finishes live.
        AsyncResult last = Canvas.chain(f.app.signature("dash.slow", "first", 1500).si(),
                f.app.signature("dash.slow", "second", 1500).si()).applyAsync();
        AsyncResult first = (AsyncResult) last.parent().orElseThrow();
        browser.get(f.base() + "/tasks/" + first.id());
        waitUpTo(10).until(d -> d.findElement(By.id("live")).getText().equals("live")
                && !d.findElements(By.id("task-detail")).isEmpty());
        js("window.__sameDocument = 'yes';");
        String lastState = "#workflow-tree tr[data-id='" + last.id() + "'] .state";
        List<String> seen = new ArrayList<>();
        waitUpTo(20).until(d -> {
            String s = text(lastState);
            if (s != null && (seen.isEmpty() || !seen.get(seen.size() - 1).equals(s))) {
                seen.add(s);
            }
            return "SUCCESS".equals(s);
        });
        assertThat(seen).hasSizeGreaterThan(1).endsWith("SUCCESS");
        assertThat(js("return window.__sameDocument;")).isEqualTo("yes");
        assertThat(text("#workflow-tree tr.current")).contains(first.id());
        assertThat(browser.findElements(By.cssSelector("#workflow-tree tr.current a"))).isEmpty();
        assertThat(text("#workflow-tree tr[data-id='" + last.id() + "'] a")).isEqualTo(last.id());
        assertThat(text("#workflow-summary")).contains("2 tasks").contains("SUCCESS 2");
        js("document.getElementById('workflow').scrollIntoView();");
        shot("12-workflow-chain");

        // A chord of 60 parts started by a task: the body under its part, 9 parts only counted.
        AsyncResult batch = f.app.delay("dash.fanout", 60);
        String bodyId = (String) batch.get(Duration.ofSeconds(10));
        f.app.result(bodyId).get(Duration.ofSeconds(20));
        browser.get(f.base() + "/tasks/" + bodyId);
        waitUpTo(20).until(d -> text("#workflow-summary") != null && text("#workflow-summary").contains("SUCCESS 62"));
        assertThat(text("#workflow-summary")).contains("62 tasks");
        assertThat(text("#workflow-more")).contains("Showing 53 of 62 tasks");
        String body = "#workflow-tree tr.current[data-id='" + bodyId + "']";
        assertThat(text(body)).contains("dash.tsum");
        assertThat(js("return getComputedStyle(document.querySelector(arguments[0])).getPropertyValue('--depth');",
                body + " td.tree")).isEqualTo("2");
        String more = "#workflow-tree tr[data-more='" + batch.id() + "']";
        assertThat(text(more)).contains("9 more").contains("SUCCESS 9");
        // After the listed parts and the body, where the batch task's subtree ends.
        assertThat(js("return document.querySelector('#workflow-tree tbody tr:last-child').dataset.more;"))
                .isEqualTo(batch.id());
        assertThat(js("return document.querySelector(arguments[0]).getAttribute('href');", more + " a"))
                .isEqualTo("/tasks?parent=" + batch.id());
        js("document.getElementById('workflow').scrollIntoView();");
        shot("13-workflow-chord");

        click("#workflow-link");
        waitUpTo(10).until(d -> d.getCurrentUrl().contains("/tasks?root=" + batch.id()));
        waitUpTo(10).until(d -> text("#tasks-count") != null && text("#tasks-count").startsWith("1–50 of 62"));
        assertThat(text("#filter-root")).contains(batch.id());
        shot("14-tasks-by-workflow");
        click("#filter-root button.clear");
        waitUpTo(10).until(d -> !d.getCurrentUrl().contains("root=")
                && browser.findElements(By.id("filter-root")).isEmpty());
    }

    @Test
    @Order(9)
    void aReadOnlyUserGetsNoControls() throws Exception {
        AsyncResult bad = f.app.delay("dash.flaky", "viewer-sees");
        browser.get(f.base() + "/tasks");
        click("form[action='/logout'] button");
        waitUpTo(10).until(d -> d.getCurrentUrl().contains("/login"));
        browser.findElement(By.id("username")).sendKeys(DashboardFixture.VIEWER);
        browser.findElement(By.id("password")).sendKeys(DashboardFixture.VIEWER_PASSWORD);
        browser.findElement(By.id("login")).click();
        waitUpTo(10).until(d -> d.getCurrentUrl().endsWith("/tasks"));
        assertThat(text(".user")).contains("viewer").contains("read-only");

        browser.get(f.base() + "/failed");
        waitUpTo(15).until(d -> text("#failed-body tr[data-id='" + bad.id() + "']") != null);
        // Copying an id changes nothing: the one button a reader keeps.
        assertThat(browser.findElements(By.cssSelector("#failed-body button:not(.copy), #retry-all, #discard-all,"
                + " #requeue-all"))).isEmpty();
        browser.get(f.base() + "/schedules");
        waitUpTo(10).until(d -> text("#schedules-body tr[data-schedule='report']") != null);
        assertThat(browser.findElements(By.cssSelector("#schedule-form, #schedules-body button"))).isEmpty();
        browser.get(f.base() + "/workers");
        waitUpTo(10).until(d -> text("#workers-body tr[data-worker='java@dash']") != null);
        assertThat(browser.findElements(By.cssSelector("#workers-body button, #rl-apply"))).isEmpty();
        shot("15-read-only-workers");
    }

    @Test
    @Order(10)
    void saysAboveEveryPageWhatItCannotKeep() throws Exception {
        browser.get(f.base() + "/queues");
        waitUpTo(10).until(d -> d.getCurrentUrl().contains("/queues") || d.getCurrentUrl().contains("/login"));
        assertThat(browser.findElements(By.className("notice"))).isEmpty();

        // A second dashboard on the same broker with no history store: it says so on every page.
        try (Dashboard memoryOnly = Dashboard.builder(f.app).port(0).historyUrl("none")
                .user(DashboardFixture.ADMIN, DashboardFixture.ADMIN_PASSWORD, Role.ADMIN).build().start()) {
            String base = "http://127.0.0.1:" + memoryOnly.port();
            browser.get(base + "/workers");
            waitUpTo(10).until(d -> d.getCurrentUrl().contains("/login"));
            browser.findElement(By.id("username")).sendKeys(DashboardFixture.ADMIN);
            browser.findElement(By.id("password")).sendKeys(DashboardFixture.ADMIN_PASSWORD);
            browser.findElement(By.id("login")).click();
            waitUpTo(10).until(d -> d.getCurrentUrl().endsWith("/workers"));
            assertThat(browser.findElement(By.className("notice")).isDisplayed()).isTrue();
            assertThat(text(".notice")).contains("kept in memory only");
            shot("16-notice-history-in-memory");
        }
    }

    /** Logs in as the admin if the browser has no session here (an earlier test may have logged out). */
    static void asAdmin(String page) {
        browser.get(f.base() + page);
        waitUpTo(10).until(d -> d.getCurrentUrl().contains(page) || d.getCurrentUrl().contains("/login"));
        if (browser.getCurrentUrl().contains("/login")) {
            browser.findElement(By.id("username")).sendKeys(DashboardFixture.ADMIN);
            browser.findElement(By.id("password")).sendKeys(DashboardFixture.ADMIN_PASSWORD);
            browser.findElement(By.id("login")).click();
            waitUpTo(10).until(d -> !d.getCurrentUrl().contains("/login"));
        }
    }

    /** Resizes the window so that the page itself is {@code width} px wide, whatever the browser's frame takes. */
    static void viewport(int width, int height) {
        browser.manage().window().setSize(new Dimension(width, height));
        long inner = ((Number) js("return window.innerWidth;")).longValue();
        if (inner != width) {
            browser.manage().window().setSize(new Dimension(width + (int) (width - inner), height));
        }
        assertThat(((Number) js("return window.innerWidth;")).longValue()).isEqualTo(width);
    }

    /** One number from the page: the script's result. */
    static double number(String script, Object... args) {
        return ((Number) js(script, args)).doubleValue();
    }

    @Test
    @Order(11)
    void theTaskListFitsTheWindowWithLongArgumentsAt1280And1920() throws Exception {
        // Arguments with no space to break at, as base64 blobs and tokens are; a task no worker knows, with long
        // arguments of its own.
        String blob = "x".repeat(3000);
        AsyncResult echo = f.app.delay("dash.echo", blob);
        echo.get(Duration.ofSeconds(10));
        String unknownId = UUID.randomUUID().toString();
        f.app.applyAsync("billing.charge_invoice", List.of(42, "INV-" + "7".repeat(400)),
                Map.of("customer", "c".repeat(300), "currency", "EUR"), SendOptions.builder().taskId(unknownId).build());
        asAdmin("/tasks");
        waitUpTo(15).until(d -> "REJECTED".equals(stateOf(unknownId)) && "SUCCESS".equals(stateOf(echo.id())));

        // A task no worker has registered is still listed by its name and arguments, with the reason.
        String unknownRow = "#tasks-body tr[data-id='" + unknownId + "']";
        assertThat(text(unknownRow + " td:nth-child(2)")).isEqualTo("billing.charge_invoice");
        assertThat(text(unknownRow + " td:nth-child(4)")).startsWith("(42, 'INV-777");
        assertThat(text(unknownRow + " td:nth-child(5)")).contains("'currency': 'EUR'");
        assertThat(text(unknownRow + " td:nth-child(6)")).contains("unregistered task").contains("billing.charge_invoice");

        for (int width : new int[] {1280, 1920}) {
            viewport(width, 900);
            browser.navigate().refresh();
            waitUpTo(15).until(d -> "REJECTED".equals(stateOf(unknownId)));
            String row = "#tasks-body tr[data-id='" + echo.id() + "']";
            // Ids: the first 8 characters, the whole id on hover and in the link.
            assertThat(text(row + " td:nth-child(3) a")).isEqualTo(echo.id().substring(0, 8));
            assertThat(js("return document.querySelector(arguments[0]).title;", row + " td:nth-child(3) a"))
                    .isEqualTo(echo.id());
            assertThat(number("return document.querySelector('#tasks th.c-id').getBoundingClientRect().width;"))
                    .as("Id column at %d px", width).isGreaterThanOrEqualTo(100);
            // Nothing scrolls sideways: not the table, not the page.
            assertThat(number("const t = document.getElementById('tasks'); return t.scrollWidth - t.clientWidth;"))
                    .as("table overflow at %d px", width).isLessThanOrEqualTo(0);
            assertThat(number("const e = document.documentElement; return e.scrollWidth - e.clientWidth;"))
                    .as("page overflow at %d px", width).isLessThanOrEqualTo(0);
            // One line a row, however long the arguments.
            assertThat(number("return Math.max(...[...document.querySelectorAll('#tasks-body tr')]"
                    + ".map(r => r.getBoundingClientRect().height));")).as("row height at %d px", width)
                    .isLessThanOrEqualTo(40);
            // The last columns are on screen, Received with a time in it.
            assertThat(number("return document.querySelector('#tasks th.c-worker').getBoundingClientRect().right;"))
                    .isLessThanOrEqualTo(width);
            assertThat(text("#tasks th.c-time")).isEqualTo("Received");
            assertThat(number("return document.querySelector('#tasks th.c-time').getBoundingClientRect().width;"))
                    .isGreaterThanOrEqualTo(90);
            assertThat(text(row + " td:nth-child(7)")).matches("\\d{1,2}:\\d\\d:\\d\\d\\.\\d{3}");
            // Every text column keeps a readable width.
            for (String c : List.of("c-name", "c-args", "c-kwargs", "c-result", "c-runtime")) {
                assertThat(number("return document.querySelector(arguments[0]).getBoundingClientRect().width;",
                        "#tasks th." + c)).as("%s at %d px", c, width).isGreaterThanOrEqualTo(80);
            }
            shot("17-tasks-long-args-" + width);
        }

        // Copy puts the whole id on the clipboard. A real click (the clipboard wants a user's gesture), with the
        // permission a user's browser gives a page it is on.
        ((HasPermissions) browser).setPermission("clipboard-read", "granted");
        ((HasPermissions) browser).setPermission("clipboard-write", "granted");
        String row = "#tasks-body tr[data-id='" + echo.id() + "']";
        browser.findElement(By.cssSelector(row + " button.copy")).click();
        waitUpTo(5).until(d -> text("#toast") != null && text("#toast").contains(echo.id()));
        assertThat(text("#toast")).isEqualTo("Copied " + echo.id());
        assertThat(((JavascriptExecutor) browser).executeAsyncScript("const done = arguments[0];"
                + " navigator.clipboard.readText().then(done, e => done('cannot read: ' + e));")).isEqualTo(echo.id());
        viewport(1400, 1000);
    }

    @Test
    @Order(12)
    void everyPageHasTheIconAndItIsServed() throws Exception {
        asAdmin("/workers");
        String href = (String) js("return document.querySelector('link[rel=icon]').href;");
        assertThat(href).isEqualTo(f.base() + "/static/favicon.svg");
        // Loaded by the browser (the header shows it too) under the page's Content-Security-Policy.
        waitUpTo(10).until(d -> number("const i = document.querySelector('header .brand img');"
                + " return i.complete ? i.naturalWidth : 0;") > 0);
        // Served without a login, as browsers fetch icons; the old place leads to it.
        java.net.http.HttpResponse<String> icon = f.get("/static/favicon.svg", null);
        assertThat(icon.statusCode()).isEqualTo(200);
        assertThat(icon.headers().firstValue("Content-Type").orElse("")).startsWith("image/svg+xml");
        assertThat(icon.body()).contains("<svg").contains("<title>Celeriac</title>");
        java.net.http.HttpResponse<String> old = f.get("/favicon.ico", null);
        assertThat(old.statusCode()).isEqualTo(302);
        assertThat(old.headers().firstValue("Location")).hasValue("/static/favicon.svg");
        browser.get(f.base() + "/login");
        assertThat(js("return document.querySelector('link[rel=icon]').getAttribute('href');"))
                .isEqualTo("/static/favicon.svg");
    }

    @Test
    @Order(13)
    void chartAxesHaveUnitsAndRoundTicksAt1280And1920() throws Exception {
        for (int i = 0; i < 5; i++) {
            f.app.delay("dash.add", i, 1).get(Duration.ofSeconds(10));
        }
        asAdmin("/charts");
        for (int width : new int[] {1280, 1920}) {
            viewport(width, 1000);
            browser.get(f.base() + "/charts");
            waitUpTo(10).until(d -> d.findElements(By.cssSelector("#charts svg")).size() == 4);
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> charts = (List<Map<String, Object>>) js("return [...document.querySelectorAll("
                    + "'#charts .chart')].map(c => ({title: c.querySelector('h2').textContent,"
                    + " y: [...c.querySelectorAll('text.tick-y')].map(t => t.textContent),"
                    + " x: [...c.querySelectorAll('text.tick-x')].map(t => t.textContent),"
                    + " yAxis: c.querySelector('text.axis-y').textContent,"
                    + " xAxis: c.querySelector('text.axis-x').textContent}));");
            assertThat(charts).hasSize(4);
            Map<String, String> units = Map.of("Throughput by task", "tasks finished / min",
                    "Failure rate", "% of finished", "Run time percentiles", "ms",
                    "Queue length", "waiting messages");
            for (Map<String, Object> c : charts) {
                String title = (String) c.get("title");
                String unit = units.entrySet().stream().filter(e -> title.startsWith(e.getKey())).findFirst()
                        .orElseThrow().getValue();
                assertThat((String) c.get("yAxis")).as(title).isEqualTo(unit);
                assertThat((String) c.get("xAxis")).as(title).isEqualTo("local time");
                assertThat((List<?>) c.get("y")).as(title).hasSizeGreaterThanOrEqualTo(4);
                assertThat((List<?>) c.get("x")).as(title).hasSizeGreaterThanOrEqualTo(4)
                        .allSatisfy(t -> assertThat((String) t).matches("\\d\\d:\\d\\d"));
                // Round numbers from 0 up, evenly spaced; the unit is the axis's title, not repeated on each tick.
                List<Double> ys = ((List<?>) c.get("y")).stream()
                        .map(t -> Double.parseDouble(((String) t).replace(",", ""))).toList();
                assertThat(ys.get(0)).as(title).isZero();
                assertThat(ys).as(title).isSorted().doesNotHaveDuplicates();
                assertThat(ys.get(2) - ys.get(1)).as(title).isCloseTo(ys.get(1), org.assertj.core.data.Offset.offset(1e-9));
            }
            assertThat(number("const e = document.documentElement; return e.scrollWidth - e.clientWidth;"))
                    .isLessThanOrEqualTo(0);
            shot("18-charts-" + width);
        }
        viewport(1400, 1000);
    }
}
