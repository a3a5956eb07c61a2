package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.control.ControlMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** {@code celeriac status}: which workers answer a ping, like {@code celery status}. */
@Command(name = "status", mixinStandardHelpOptions = true, description = "List the workers that are online.")
final class StatusCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = {"-t", "--timeout"}, defaultValue = "1.0", description = "Seconds to wait for replies.")
    double timeout;

    @Override
    public Integer call() {
        try (Celeriac app = connection.app()) {
            List<Map<String, Object>> replies = app.controlBus("celeriac status").broadcastAndCollect(
                    ControlMessage.of("ping", Map.of()), Duration.ofMillis(Math.round(timeout * 1000)));
            Map<String, Object> nodes = new TreeMap<>();
            replies.forEach(nodes::putAll);
            nodes.keySet().forEach(n -> System.out.println("->  " + n + ": OK"));
            System.out.println();
            System.out.println(nodes.size() + " node" + (nodes.size() == 1 ? "" : "s") + " online.");
            return nodes.isEmpty() ? 1 : 0;
        }
    }
}
