package io.celeriac.interop;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the real Celery from Debian's python3-celery ({@code /usr/bin/python3}, not whatever python3 is first on
 * PATH) with the interop module in src/test/python.
 */
final class PythonCelery {
    static final Path PYTHON_DIR = Path.of("src/test/python").toAbsolutePath();
    static final Path LOGS = Path.of("target/interop-logs").toAbsolutePath();

    private final String broker;
    private final String backend;
    private final Map<String, String> extraEnv;

    PythonCelery(String broker, String backend) {
        this(broker, backend, Map.of());
    }

    /** With more environment for interop_tasks.py ({@code INTEROP_LEDGER}, {@code INTEROP_QUEUE_MAX_PRIORITY}). */
    PythonCelery(String broker, String backend, Map<String, String> extraEnv) {
        this.broker = broker;
        this.backend = backend;
        this.extraEnv = Map.copyOf(extraEnv);
    }

    private ProcessBuilder builder(List<String> command, String logName) throws IOException {
        Files.createDirectories(LOGS);
        ProcessBuilder pb = new ProcessBuilder(command).directory(PYTHON_DIR.toFile());
        Map<String, String> env = pb.environment();
        env.put("INTEROP_BROKER", broker);
        env.put("INTEROP_BACKEND", backend);
        env.put("PYTHONDONTWRITEBYTECODE", "1");
        env.putAll(extraEnv);
        pb.redirectError(LOGS.resolve(logName + ".err.log").toFile());
        return pb;
    }

    /** Runs {@code celery_client.py} and returns its stdout (one JSON object). */
    String client(String... args) throws IOException, InterruptedException {
        return script("celery_client.py", args);
    }

    /** Runs a client script of src/test/python and returns its stdout (one JSON object). */
    String script(String script, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", script));
        cmd.addAll(List.of(args));
        String name = script.replaceFirst("\\.py$", "") + "-" + args[0];
        Process p = builder(cmd, name).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(script + " " + String.join(" ", args) + " did not finish");
        }
        if (p.exitValue() != 0) {
            throw new IllegalStateException(script + " " + String.join(" ", args) + " exited with "
                    + p.exitValue() + "; see " + LOGS.resolve(name + ".err.log"));
        }
        return out.trim();
    }

    /** Runs {@code python3 -m celery -A interop_tasks <args>} to completion and returns its stdout. */
    String celery(String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", "-m", "celery", "-A", "interop_tasks"));
        cmd.addAll(List.of(args));
        Process p = builder(cmd, "celery-" + args[0]).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("celery " + String.join(" ", args) + " did not finish");
        }
        return out;
    }

    /** Starts a long-running {@code celery} command whose stdout goes to {@code out}. */
    Process celeryInBackground(File out, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", "-u", "-m", "celery", "-A", "interop_tasks"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = builder(cmd, "celery-" + args[0]);
        pb.redirectOutput(out);
        return pb.start();
    }

    /** Starts {@code celery worker} on the given queues with the threads pool. */
    Process worker(String name, String queues, int concurrency, String... extra) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", "-m", "celery", "-A", "interop_tasks",
                "worker", "-P", "threads", "-c", Integer.toString(concurrency), "-Q", queues, "-n", name + "@%h",
                "-l", "info", "--without-gossip", "--without-mingle"));
        cmd.addAll(List.of(extra));
        ProcessBuilder pb = builder(cmd, "worker-" + name);
        pb.redirectOutput(new File(LOGS.toFile(), "worker-" + name + ".out.log"));
        return pb.start();
    }

    static void stop(Process p) throws InterruptedException {
        if (p == null) {
            return;
        }
        p.destroy();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
