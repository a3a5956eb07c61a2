package io.celeriac.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.celeriac.testing.RedisServerExtension;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.GroupResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

import static io.celeriac.dashboard.DashboardFixture.VIEWER;
import static io.celeriac.dashboard.DashboardFixture.VIEWER_PASSWORD;
import static io.celeriac.dashboard.DashboardFixture.basic;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * Workflows on the dashboard: real chains and chords through a real worker sending events, read back through
 * {@code GET /api/tasks/{id}/workflow} and the task list's {@code root} and {@code parent} filters.
 */
class DashboardWorkflowTest {
    @RegisterExtension
    static final RedisServerExtension REDIS = new RedisServerExtension();
    static final Duration WAIT = Duration.ofSeconds(20);
    static final ObjectMapper JSON = new ObjectMapper();

    static DashboardFixture f;

    @BeforeAll
    static void start() {
        f = new DashboardFixture(REDIS);
    }

    @AfterAll
    static void stop() {
        f.close();
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** The workflow of {@code id} once it satisfies {@code done} (events reach the dashboard a moment later). */
    static JsonNode awaitWorkflow(String id, String query, Predicate<JsonNode> done) {
        return await().atMost(WAIT).until(() -> {
            HttpResponse<String> r = f.adminGet("/api/tasks/" + id + "/workflow" + query);
            return r.statusCode() == 200 ? JSON.readTree(r.body()) : null;
        }, w -> w != null && done.test(w));
    }

    static Predicate<JsonNode> allSucceeded(int total) {
        return w -> w.get("total").asInt() == total && w.get("states").path("SUCCESS").asInt() == total;
    }

    static List<String> texts(JsonNode nodes, String field) {
        List<String> out = new ArrayList<>();
        nodes.forEach(n -> out.add(n.get(field).asText()));
        return out;
    }

    static List<Integer> depths(JsonNode w) {
        List<Integer> out = new ArrayList<>();
        w.get("nodes").forEach(n -> out.add(n.get("depth").asInt()));
        return out;
    }

    @Test
    void aChainIsAPathFromItsFirstStepAndTheListFiltersByItsRoot() throws Exception {
        AsyncResult last = Canvas.chain(f.app.signature("dash.add", 1, 2), f.app.signature("dash.add", 3),
                f.app.signature("dash.add", 4)).applyAsync();
        assertThat(last.get(WAIT)).isEqualTo(10);
        AsyncResult second = (AsyncResult) last.parent().orElseThrow();
        AsyncResult first = (AsyncResult) second.parent().orElseThrow();

        JsonNode w = awaitWorkflow(last.id(), "", allSucceeded(3));
        assertThat(w.get("rootId").asText()).isEqualTo(first.id());
        assertThat(w.get("taskId").asText()).isEqualTo(last.id());
        assertThat(texts(w.get("nodes"), "id")).containsExactly(first.id(), second.id(), last.id());
        assertThat(depths(w)).containsExactly(0, 1, 2);
        assertThat(texts(w.get("nodes"), "name")).containsOnly("dash.add");
        assertThat(texts(w.get("nodes"), "parentId")).containsExactly("null", first.id(), second.id());
        assertThat(w.get("nodes")).allSatisfy(n -> {
            assertThat(n.get("runtime").asDouble()).isPositive();
            assertThat(n.get("worker").asText()).isEqualTo("java@dash");
        });
        assertThat(w.get("hidden").asInt()).isZero();
        // The same tree whichever step is asked for.
        assertThat(json(f.adminGet("/api/tasks/" + first.id() + "/workflow")).get("nodes"))
                .isEqualTo(w.get("nodes"));

        JsonNode list = json(f.adminGet("/api/tasks?root=" + first.id()));
        assertThat(list.get("total").asInt()).isEqualTo(3);
        assertThat(texts(list.get("items"), "id")).containsExactlyInAnyOrder(first.id(), second.id(), last.id());
        assertThat(texts(list.get("items"), "rootId")).containsOnly(first.id());
        JsonNode sentByFirst = json(f.adminGet("/api/tasks?parent=" + first.id()));
        assertThat(texts(sentByFirst.get("items"), "id")).containsExactly(second.id());
    }

    @Test
    void aFailedStepShowsInTheTreeAndTheStepsAfterItNeverRan() throws Exception {
        AsyncResult last = Canvas.chain(f.app.signature("dash.add", 1, 2),
                f.app.signature("dash.flaky", "workflow-chain").si(), f.app.signature("dash.add", 5)).applyAsync();
        AsyncResult failing = (AsyncResult) last.parent().orElseThrow();
        AsyncResult first = (AsyncResult) failing.parent().orElseThrow();
        JsonNode w = awaitWorkflow(first.id(), "", x -> x.get("states").path("FAILURE").asInt() == 1
                && x.get("states").path("SUCCESS").asInt() == 1);
        // The last step is marked failed in the result backend by the worker, but never ran: no events, not here.
        assertThat(w.get("total").asInt()).isEqualTo(2);
        assertThat(texts(w.get("nodes"), "id")).containsExactly(first.id(), failing.id());
        assertThat(texts(w.get("nodes"), "state")).containsExactly("SUCCESS", "FAILURE");
        assertThat(json(f.adminGet("/api/tasks?state=FAILURE&root=" + first.id())).get("total").asInt())
                .isEqualTo(1);
    }

    @Test
    void aChordStartedInATaskHangsItsBodyUnderThePartThatCompletedIt() throws Exception {
        AsyncResult batch = f.app.delay("dash.fanout", 20);
        String bodyId = (String) batch.get(WAIT);
        assertThat(f.app.result(bodyId).get(WAIT)).isEqualTo(380);

        JsonNode w = awaitWorkflow(bodyId, "", allSucceeded(22));
        assertThat(w.get("rootId").asText()).isEqualTo(batch.id());
        JsonNode nodes = w.get("nodes");
        assertThat(nodes).hasSize(22);
        assertThat(nodes.get(0).get("id").asText()).isEqualTo(batch.id());
        assertThat(nodes.get(0).get("name").asText()).isEqualTo("dash.fanout");
        assertThat(nodes.get(0).get("children").asInt()).isEqualTo(20);
        List<String> names = texts(nodes, "name");
        assertThat(names.stream().filter("dash.add"::equals)).hasSize(20);
        int body = names.indexOf("dash.tsum");
        assertThat(nodes.get(body).get("id").asText()).isEqualTo(bodyId);
        assertThat(nodes.get(body).get("depth").asInt()).isEqualTo(2);
        // Depth first: the body follows the part that sent it.
        String completing = nodes.get(body).get("parentId").asText();
        assertThat(nodes.get(body - 1).get("id").asText()).isEqualTo(completing);
        assertThat(nodes.get(body - 1).get("depth").asInt()).isEqualTo(1);
        assertThat(nodes.get(body - 1).get("children").asInt()).isEqualTo(1);

        assertThat(json(f.adminGet("/api/tasks?root=" + batch.id())).get("total").asInt()).isEqualTo(22);
        JsonNode parts = json(f.adminGet("/api/tasks?parent=" + batch.id()));
        assertThat(parts.get("total").asInt()).isEqualTo(20);
        assertThat(texts(parts.get("items"), "name")).containsOnly("dash.add");
        assertThat(texts(json(f.adminGet("/api/tasks?parent=" + completing)).get("items"), "id"))
                .containsExactly(bodyId);
    }

    /**
     * Sent from outside any task, a chord's parts are each their own root, and the body the completing part's child:
     * events carry no group id, so this is all the dashboard can join (as Flower).
     */
    @Test
    void aChordSentFromOutsideATaskJoinsOnlyItsBodyToTheCompletingPart() throws Exception {
        AsyncResult body = Canvas.chord(List.of(f.app.signature("dash.add", 1, 1), f.app.signature("dash.add", 2, 2),
                f.app.signature("dash.add", 3, 3)), f.app.signature("dash.tsum")).applyAsync();
        assertThat(body.get(WAIT)).isEqualTo(12);
        GroupResult header = (GroupResult) body.parent().orElseThrow();

        JsonNode w = awaitWorkflow(body.id(), "", allSucceeded(2));
        String completing = w.get("rootId").asText();
        assertThat(header.results()).extracting(AsyncResult::id).contains(completing);
        assertThat(texts(w.get("nodes"), "id")).containsExactly(completing, body.id());
        for (AsyncResult part : header.results()) {
            if (!part.id().equals(completing)) {
                assertThat(awaitWorkflow(part.id(), "", allSucceeded(1)).get("nodes")).hasSize(1);
            }
        }
    }

    @Test
    void aThousandPartChordIsCountedInFullAndListedInPart() throws Exception {
        AsyncResult batch = f.app.delay("dash.fanout", 1000);
        String bodyId = (String) batch.get(WAIT);
        assertThat(f.app.result(bodyId).get(Duration.ofSeconds(60))).isEqualTo(999_000);

        JsonNode w = awaitWorkflow(batch.id(), "", allSucceeded(1002));
        // The batch task, its first 50 parts, the part that sent the body (kept: it started a task), the body.
        assertThat(w.get("shown").asInt()).isEqualTo(53);
        assertThat(w.get("nodes")).hasSize(53);
        assertThat(w.get("hidden").asInt()).isEqualTo(949);
        JsonNode root = w.get("nodes").get(0);
        assertThat(root.get("children").asInt()).isEqualTo(1000);
        assertThat(root.get("hiddenChildren").asInt()).isEqualTo(949);
        assertThat(root.get("hiddenStates").get("SUCCESS").asInt()).isEqualTo(949);
        assertThat(texts(w.get("nodes"), "id")).contains(bodyId);

        JsonNode small = json(f.adminGet("/api/tasks/" + bodyId + "/workflow?limit=10"));
        assertThat(small.get("total").asInt()).isEqualTo(1002);
        assertThat(small.get("nodes").size()).isBetween(10, 12);
        // Past the limit, the task asked for and its ancestors are still listed.
        assertThat(texts(small.get("nodes"), "id")).contains(batch.id(), bodyId);

        JsonNode list = json(f.adminGet("/api/tasks?root=" + batch.id() + "&state=SUCCESS&limit=10"));
        assertThat(list.get("total").asInt()).isEqualTo(1002);
        assertThat(list.get("items")).hasSize(10);
    }

    @Test
    void theWorkflowCallNeedsAUserAndNamesWhatItCannotFind() throws Exception {
        AsyncResult r = f.app.delay("dash.add", 20, 22);
        assertThat(r.get(WAIT)).isEqualTo(42);
        awaitWorkflow(r.id(), "", allSucceeded(1));
        assertThat(f.get("/api/tasks/" + r.id() + "/workflow", null).statusCode()).isEqualTo(401);
        assertThat(json(f.get("/api/tasks/" + r.id() + "/workflow", basic(VIEWER, VIEWER_PASSWORD)))
                .get("total").asInt()).isEqualTo(1);
        HttpResponse<String> missing = f.adminGet("/api/tasks/no-such-task/workflow");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(missing.body()).contains("no-such-task");
        assertThat(f.adminGet("/api/tasks/" + r.id() + "/workflow?limit=many").statusCode()).isEqualTo(400);
    }
}
