package io.celeriac.cli;

import io.celeriac.Celeriac;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/** {@code celeriac purge -Q q [-f]}: delete every waiting message of the queues, like {@code celery purge}. */
@Command(name = "purge", mixinStandardHelpOptions = true, description = "Delete all waiting messages of queues.")
final class PurgeCommand implements Callable<Integer> {
    @Mixin
    ConnectionOptions connection;

    @Option(names = {"-Q", "--queues"}, split = ",", description = "Queues (default: task_default_queue).")
    List<String> queues = new ArrayList<>();

    @Option(names = {"-f", "--force"}, description = "Do not ask for confirmation.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        try (Celeriac app = connection.app()) {
            List<String> qs = queues.isEmpty() ? List.of(app.config().defaultQueue()) : queues;
            long waiting = 0;
            for (String q : qs) {
                waiting += app.broker().queueLength(q);
            }
            if (!force) {
                System.out.printf("%d message(s) in %s will be deleted. Are you sure? (yes/NO) ", waiting, qs);
                System.out.flush();
                String answer = new BufferedReader(new InputStreamReader(System.in)).readLine();
                if (answer == null || !answer.trim().equalsIgnoreCase("yes")) {
                    System.out.println("Nothing purged.");
                    return 1;
                }
            }
            long purged = 0;
            for (String q : qs) {
                purged += app.broker().purge(q);
            }
            System.out.printf("Purged %d message(s) from %d known task queue(s).%n", purged, qs.size());
            return 0;
        }
    }
}
