package io.celeriac.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the packaged {@code target/celeriac.jar} as a user would. */
final class CeleriacJar {
    static final Path JAR = Path.of("target/celeriac.jar").toAbsolutePath();
    static final Path LOGS = Path.of("target/cli-logs").toAbsolutePath();
    static final Path TEST_CLASSES = Path.of("target/test-classes").toAbsolutePath();

    record Result(int exitCode, String out) {
    }

    private CeleriacJar() {
    }

    private static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin"
                + File.separator + "java", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** Runs a subcommand to completion; stdin is empty. */
    static Result run(String... args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command(args)).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("celeriac " + String.join(" ", args) + " did not finish");
        }
        return new Result(p.exitValue(), out);
    }

    /** Starts a long-running subcommand (worker, events) with its output in target/cli-logs/<name>.log. */
    static Process start(String name, String... args) throws IOException {
        Files.createDirectories(LOGS);
        return new ProcessBuilder(command(args)).redirectErrorStream(true)
                .redirectOutput(LOGS.resolve(name + ".log").toFile()).start();
    }

    /**
     * As {@link #start}, with this module's test classes on the class path after the jar, as a user puts their task
     * classes next to {@code celeriac.jar} ({@code java -cp celeriac.jar:tasks.jar io.celeriac.cli.CeleriacCommand}).
     */
    static Process startWithTasks(String name, String... args) throws IOException {
        Files.createDirectories(LOGS);
        List<String> cmd = new ArrayList<>(List.of(System.getProperty("java.home") + File.separator + "bin"
                + File.separator + "java", "-cp", JAR + File.pathSeparator + TEST_CLASSES,
                "io.celeriac.cli.CeleriacCommand"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(LOGS.resolve(name + ".log").toFile())
                .start();
    }

    static String log(String name) throws IOException {
        Path f = LOGS.resolve(name + ".log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    /** Sends a signal to a process, as systemd or Kubernetes would. */
    static void signal(Process p, String signal) throws IOException, InterruptedException {
        new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor(10, TimeUnit.SECONDS);
    }
}
