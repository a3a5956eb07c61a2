package io.celeriac.redis.testing;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.fixtures.typed.InvoiceTasks;

/**
 * A worker in its own JVM running the tasks of the {@code Invoices} interface, for the typed calls test:
 * {@code InvoiceWorkerMain <broker url> <backend url>}. It consumes the "invoices" queue the interface sends
 * {@code invoices.total} to, and the default one.
 */
public final class InvoiceWorkerMain {
    private InvoiceWorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(args[0]).resultBackend(args[1])
                .hostname("invoices@%h").build()).register(new InvoiceTasks()).build();
        app.worker().queues("celery", "invoices").concurrency(2).start().awaitTermination();
    }
}
