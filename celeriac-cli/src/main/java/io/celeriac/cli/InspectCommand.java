package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.control.ControlMessage;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code celeriac inspect ping|active|reserved|scheduled|registered|stats|revoked}: ask every worker (Celeriac's
 * and Python Celery's alike) and print their replies, like {@code celery inspect}.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true, description = "Inspect running workers.")
final class InspectCommand implements Callable<Integer> {
    static final List<String> METHODS = List.of("ping", "active", "reserved", "scheduled", "registered", "stats",
            "revoked", "active_queues");

    @Mixin
    ConnectionOptions connection;

    @Parameters(index = "0", description = "One of: ${COMPLETION-CANDIDATES}", completionCandidates = Methods.class)
    String method;

    @Mixin
    ReplyOptions replies;

    static final class Methods extends ArrayList<String> {
        Methods() {
            super(METHODS);
        }
    }

    @Override
    public Integer call() {
        if (!METHODS.contains(method)) {
            System.err.println("Unknown inspect method '" + method + "'; one of " + METHODS);
            return 2;
        }
        try (Celeriac app = connection.app()) {
            Map<String, Object> args = method.equals("active") ? java.util.Collections.singletonMap("safe", null)
                    : Map.of();
            List<Map<String, Object>> answers = app.controlBus("celeriac inspect").broadcastAndCollect(
                    new ControlMessage(method, args, replies.destination, null, null), replies.timeout());
            return ControlCommand.print(app, answers, replies.json);
        }
    }
}
