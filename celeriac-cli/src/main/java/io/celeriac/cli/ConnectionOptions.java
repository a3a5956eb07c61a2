package io.celeriac.cli;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** Broker and backend options shared by every subcommand; unset ones come from the config file and environment. */
final class ConnectionOptions {
    @Option(names = {"-b", "--broker"}, description = "Broker URL (or broker_url / CELERIAC_BROKER_URL).")
    @Nullable String broker;

    @Option(names = "--result-backend", description = "Result backend URL (default: the broker).")
    @Nullable String resultBackend;

    @Option(names = "--config", description = "A properties file with Celery setting names.")
    java.nio.file.Path configFile;

    CeleriacConfig.Builder config() {
        CeleriacConfig.Builder cb = CeleriacConfig.loadBuilder(System.getenv());
        if (configFile != null) {
            cb.applyFile(configFile);
        }
        if (broker != null) {
            cb.brokerUrl(broker);
            if (resultBackend == null) {
                cb.resultBackend(broker);
            }
        }
        if (resultBackend != null) {
            cb.resultBackend(resultBackend);
        }
        return cb;
    }

    Celeriac app() {
        return Celeriac.builder().config(config().build()).build();
    }
}
