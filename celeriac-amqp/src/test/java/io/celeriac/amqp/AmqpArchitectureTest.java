package io.celeriac.amqp;

import io.celeriac.architecture.ArchitectureRules;
import org.junit.jupiter.api.Test;

/** celeriac-amqp keeps amqp-client and Jackson to itself: users configure it with URLs and core types only. */
class AmqpArchitectureTest {
    @Test
    void noAmqpClientNorJacksonTypeInThePublicApi() {
        ArchitectureRules.noLibraryTypesInPublicApi(ArchitectureRules.productionClasses("io.celeriac.amqp"),
                "com.rabbitmq", "com.fasterxml.jackson");
    }
}
