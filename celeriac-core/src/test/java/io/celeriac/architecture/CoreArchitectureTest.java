package io.celeriac.architecture;

import com.tngtech.archunit.core.domain.JavaClasses;
import org.junit.jupiter.api.Test;

/** celeriac-core knows no transport and no web or CLI library, and its packages form no cycle. */
class CoreArchitectureTest {
    private static final JavaClasses CORE = ArchitectureRules.productionClasses("io.celeriac");

    @Test
    void coreDependsOnNoTransportNorFramework() {
        ArchitectureRules.packagesDependOnNone(CORE, "io.celeriac..", "io.lettuce..", "com.rabbitmq..", "io.netty..",
                "io.javalin..", "picocli..", "org.springframework..");
    }

    @Test
    void protocolKnowsNoBrokerNorBackendNorWorker() {
        ArchitectureRules.packagesDependOnNone(CORE, "io.celeriac.protocol..", "io.celeriac.broker..",
                "io.celeriac.worker..", "io.celeriac.backend..", "io.celeriac.beat..");
    }

    @Test
    void noJacksonTypeInThePublicApi() {
        ArchitectureRules.noLibraryTypesInPublicApi(CORE, "com.fasterxml.jackson", "io.lettuce", "com.rabbitmq");
    }

    @Test
    void noPackageCycle() {
        ArchitectureRules.noPackageCycles(CORE, "io.celeriac");
    }
}
