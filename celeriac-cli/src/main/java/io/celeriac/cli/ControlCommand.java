package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.control.ControlMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * {@code celeriac control revoke <id> [--terminate] | rate_limit <task> <rate> | pool_grow N | pool_shrink N |
 * add_consumer Q | cancel_consumer Q | shutdown}, like {@code celery control}.
 */
@Command(name = "control", mixinStandardHelpOptions = true, description = "Send a command to running workers.")
final class ControlCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", description = "revoke, rate_limit, pool_grow, pool_shrink, add_consumer, "
            + "cancel_consumer, shutdown")
    String method;

    @Parameters(index = "1..*", arity = "0..*", description = "The command's arguments.")
    List<String> arguments = new ArrayList<>();

    @Option(names = "--terminate", description = "revoke: also interrupt the task if it is running.")
    boolean terminate;

    @Mixin
    ReplyOptions replies;

    @Override
    public Integer call() {
        Map<String, Object> args = new LinkedHashMap<>();
        switch (method) {
            case "revoke" -> {
                if (arguments.isEmpty()) {
                    return usage("revoke <task-id>... [--terminate]");
                }
                args.put("task_id", arguments);
                args.put("terminate", terminate);
                args.put("signal", "SIGTERM");
            }
            case "rate_limit" -> {
                if (arguments.size() != 2) {
                    return usage("rate_limit <task-name> <rate, e.g. 10/m>");
                }
                args.put("task_name", arguments.get(0));
                args.put("rate_limit", arguments.get(1));
            }
            case "pool_grow", "pool_shrink" -> args.put("n", arguments.isEmpty() ? 1 : Integer.parseInt(arguments.get(0)));
            case "add_consumer", "cancel_consumer" -> {
                if (arguments.size() != 1) {
                    return usage(method + " <queue>");
                }
                args.put("queue", arguments.get(0));
            }
            case "shutdown" -> {
            }
            default -> {
                System.err.println("Unknown control command '" + method + "'");
                return 2;
            }
        }
        try (Celeriac app = connection.app()) {
            List<Map<String, Object>> answers = app.controlBus("celeriac control").broadcastAndCollect(
                    new ControlMessage(method, args, replies.destination, null, null), replies.timeout());
            return print(app, answers, replies.json);
        }
    }

    private static int usage(String text) {
        System.err.println("usage: celeriac control " + text);
        return 2;
    }

    /** Prints replies as Celery does ({@code -> node: OK} then the answer), or as JSON. */
    static int print(Celeriac app, List<Map<String, Object>> replies, boolean json) {
        Map<String, Object> merged = new TreeMap<>();
        replies.forEach(merged::putAll);
        if (json) {
            System.out.println(app.codec().writeJson(merged));
        } else if (merged.isEmpty()) {
            System.err.println("Error: No nodes replied within time constraint");
        } else {
            merged.forEach((node, answer) -> {
                System.out.println("->  " + node + ": OK");
                System.out.println("        " + app.codec().writeJson(answer));
            });
            System.out.println();
            System.out.println(merged.size() + " node" + (merged.size() == 1 ? "" : "s") + " online.");
        }
        return merged.isEmpty() ? 1 : 0;
    }
}
