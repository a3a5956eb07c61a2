package io.celeriac.redis.testing;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;

/** A worker in its own JVM, for tests that kill it: {@code WorkerMain <broker url> <backend url> <concurrency>}. */
public final class WorkerMain {
    private WorkerMain() {
    }

    public static void main(String[] args) throws Exception {
        Celeriac app = Celeriac.builder().config(CeleriacConfig.builder().brokerUrl(args[0]).resultBackend(args[1])
                .prefetchMultiplier(1).hostname("victim@%h").build()).register(new SlowTasks()).build();
        app.worker().concurrency(Integer.parseInt(args[2])).start().awaitTermination();
    }
}
