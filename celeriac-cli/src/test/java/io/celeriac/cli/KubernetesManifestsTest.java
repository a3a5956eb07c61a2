package io.celeriac.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The files in {@code deploy/kubernetes} as a cluster would take them, checked without one: every document parses
 * and names its kind; each worker Deployment's arguments are ones {@code celeriac worker} accepts, with a grace period
 * Kubernetes waits out; and every autoscaler (the KEDA ScaledObjects, the HPA on the dashboard's metric) points at a
 * worker Deployment and counts a queue that Deployment consumes, as the broker names it.
 */
class KubernetesManifestsTest {
    static final Path DEPLOY = Path.of("..", "deploy").toAbsolutePath().normalize();
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());

    /** Every document, with the file it came from. */
    record Manifest(Path file, JsonNode doc) {
        String kind() {
            return doc.path("kind").asText();
        }

        String name() {
            return doc.path("metadata").path("name").asText();
        }

        JsonNode spec() {
            return doc.path("spec");
        }
    }

    static List<Manifest> manifests;
    /** The worker Deployments by name, with the queues their {@code -Q} gives. */
    static Map<String, List<String>> workerQueues;

    @BeforeAll
    static void read() throws IOException {
        manifests = new ArrayList<>();
        try (Stream<Path> files = Files.walk(DEPLOY.resolve("kubernetes"))) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(f.toFile())) {
                    while (docs.hasNext()) {
                        JsonNode doc = docs.next();
                        if (doc != null && !doc.isEmpty()) {
                            manifests.add(new Manifest(f, doc));
                        }
                    }
                }
            }
        }
        workerQueues = new LinkedHashMap<>();
        for (Manifest m : manifests) {
            if (m.kind().equals("Deployment") && workerArgs(m) != null) {
                workerQueues.put(m.name(), parseWorker(workerArgs(m)).queues);
            }
        }
    }

    /** The container's {@code args} if they start a worker, else null. */
    static List<String> workerArgs(Manifest deployment) {
        for (JsonNode c : deployment.spec().path("template").path("spec").path("containers")) {
            List<String> args = new ArrayList<>();
            c.path("args").forEach(a -> args.add(a.asText()));
            if (!args.isEmpty() && args.get(0).equals("worker")) {
                return args;
            }
        }
        return null;
    }

    /** The arguments as {@code celeriac worker} reads them; an unknown option or a bad value throws. */
    static WorkerCommand parseWorker(List<String> args) {
        CommandLine.ParseResult parsed = CeleriacCommand.commandLine().parseArgs(args.toArray(String[]::new));
        return (WorkerCommand) parsed.subcommand().commandSpec().userObject();
    }

    static List<Manifest> ofKind(String kind) {
        return manifests.stream().filter(m -> m.kind().equals(kind)).toList();
    }

    @Test
    void everyDocumentHasAnApiVersionAKindAndAName() {
        assertThat(manifests).extracting(Manifest::kind).contains("Deployment", "Service", "TriggerAuthentication",
                "ScaledObject", "HorizontalPodAutoscaler");
        for (Manifest m : manifests) {
            assertThat(m.doc().path("apiVersion").asText()).as(m.file() + " apiVersion").isNotEmpty();
            assertThat(m.kind()).as(m.file() + " kind").isNotEmpty();
            assertThat(m.name()).as(m.file() + " metadata.name").matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
        }
        assertThat(workerQueues).containsOnlyKeys("celeriac-worker-email");
        assertThat(workerQueues.get("celeriac-worker-email")).containsExactly("email");
    }

    @Test
    void workersGetMoreTimeToStopThanTheirWarmShutdownTakes() {
        for (Manifest m : ofKind("Deployment")) {
            List<String> args = workerArgs(m);
            if (args == null) {
                continue;
            }
            WorkerCommand worker = parseWorker(args);
            JsonNode pod = m.spec().path("template").path("spec");
            long preStop = 0;
            for (JsonNode c : pod.path("containers")) {
                JsonNode cmd = c.path("lifecycle").path("preStop").path("exec").path("command");
                if (cmd.size() == 2 && cmd.get(0).asText().equals("sleep")) {
                    preStop = cmd.get(1).asLong();
                }
            }
            // The period runs from the start of preStop; SIGTERM (the warm shutdown) comes after it.
            assertThat(pod.path("terminationGracePeriodSeconds").asLong()).as(m.name())
                    .isGreaterThan(preStop + worker.graceSeconds);
        }
    }

    @Test
    void kedaScaledObjectsScaleAWorkerDeploymentOnAQueueItConsumes() {
        List<Manifest> scaled = ofKind("ScaledObject");
        assertThat(scaled).extracting(m -> m.file().getFileName().toString())
                .containsExactlyInAnyOrder("keda-redis.yaml", "keda-rabbitmq.yaml");
        List<String> auths = ofKind("TriggerAuthentication").stream().map(Manifest::name).toList();
        for (Manifest m : scaled) {
            String where = m.file().getFileName().toString();
            assertThat(m.doc().path("apiVersion").asText()).as(where).isEqualTo("keda.sh/v1alpha1");
            String target = m.spec().path("scaleTargetRef").path("name").asText();
            assertThat(workerQueues).as(where + " scaleTargetRef.name").containsKey(target);
            List<String> queues = workerQueues.get(target);
            long min = m.spec().path("minReplicaCount").asLong(0);
            long max = m.spec().path("maxReplicaCount").asLong(100);
            assertThat(min).as(where).isBetween(0L, max);

            JsonNode triggers = m.spec().path("triggers");
            assertThat(triggers.size()).as(where + " triggers").isPositive();
            for (JsonNode t : triggers) {
                JsonNode md = t.path("metadata");
                switch (t.path("type").asText()) {
                    case "redis" -> {
                        // kombu's layout: the queue's list is named after the queue (priorities 0-2).
                        assertThat(md.path("listName").asText()).as(where).isIn(queues);
                        assertThat(md.path("address").asText()).as(where).matches("[^:/]+:\\d+");
                        assertThat(md.path("listLength").asText()).as(where).matches("[1-9]\\d*");
                        assertThat(md.path("databaseIndex").asText()).as(where).matches("\\d+");
                    }
                    case "rabbitmq" -> {
                        assertThat(md.path("queueName").asText()).as(where).isIn(queues);
                        assertThat(md.path("mode").asText()).as(where).isEqualTo("QueueLength");
                        assertThat(md.path("value").asText()).as(where).matches("[1-9]\\d*");
                        assertThat(md.path("protocol").asText()).as(where).isIn("amqp", "http", "auto");
                        // The host (with its password) comes from a Secret, never written here.
                        assertThat(md.has("host")).as(where).isFalse();
                    }
                    default -> throw new AssertionError(where + ": unexpected trigger " + t.path("type"));
                }
                assertThat(t.path("authenticationRef").path("name").asText()).as(where).isIn(auths);
            }
        }
    }

    @Test
    void theHpaScalesAWorkerDeploymentOnTheDashboardsQueueLengthAsTheAdapterServesIt() throws IOException {
        List<Manifest> hpas = ofKind("HorizontalPodAutoscaler");
        assertThat(hpas).hasSize(1);
        Manifest hpa = hpas.get(0);
        assertThat(hpa.doc().path("apiVersion").asText()).isEqualTo("autoscaling/v2");
        JsonNode ref = hpa.spec().path("scaleTargetRef");
        assertThat(ref.path("kind").asText()).isEqualTo("Deployment");
        assertThat(workerQueues).containsKey(ref.path("name").asText());
        assertThat(hpa.spec().path("minReplicas").asLong()).isBetween(1L, hpa.spec().path("maxReplicas").asLong());

        JsonNode external = hpa.spec().path("metrics").get(0).path("external");
        String metric = external.path("metric").path("name").asText();
        // The dashboard's Prometheus name for its celeriac.queue.length gauge (docs/dashboard.md#metrics).
        assertThat(metric).isEqualTo("celeriac_queue_length");
        assertThat(external.path("metric").path("selector").path("matchLabels").path("queue").asText())
                .isIn(workerQueues.get(ref.path("name").asText()));
        assertThat(external.path("target").path("type").asText()).isEqualTo("AverageValue");

        // prometheus-adapter serves that name as an external metric, queried by the queue label.
        JsonNode values = YAML.readTree(DEPLOY.resolve("prometheus-adapter/values.yaml").toFile());
        JsonNode rule = values.path("rules").path("external").get(0);
        assertThat(rule.path("seriesQuery").asText()).startsWith(metric + "{");
        assertThat(rule.path("metricsQuery").asText()).contains("<<.Series>>{<<.LabelMatchers>>}")
                .contains("by (queue)");
        assertThat(rule.path("resources").path("namespaced").asBoolean(true)).isFalse();

        // The dashboard samples the queue even while no worker consumes it.
        Manifest dashboard = ofKind("Deployment").stream().filter(m -> m.name().equals("celeriac-dashboard"))
                .findFirst().orElseThrow();
        List<String> args = new ArrayList<>();
        dashboard.spec().path("template").path("spec").path("containers").get(0).path("args")
                .forEach(a -> args.add(a.asText()));
        DashboardCommand parsed = (DashboardCommand) CeleriacCommand.commandLine()
                .parseArgs(args.toArray(String[]::new)).subcommand().commandSpec().userObject();
        assertThat(parsed.queues).contains(external.path("metric").path("selector").path("matchLabels")
                .path("queue").asText());
    }
}
