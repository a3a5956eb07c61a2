package io.celeriac.dashboard;

import io.celeriac.architecture.ArchitectureRules;
import org.junit.jupiter.api.Test;

/** The dashboard's public API (its builder, history stores) shows no Javalin, Jetty, Lettuce or Jackson type. */
class DashboardArchitectureTest {
    @Test
    void noWebServerRedisNorJacksonTypeInThePublicApi() {
        ArchitectureRules.noLibraryTypesInPublicApi(ArchitectureRules.productionClasses("io.celeriac.dashboard"),
                "io.javalin", "org.eclipse.jetty", "io.lettuce", "com.fasterxml.jackson");
    }
}
