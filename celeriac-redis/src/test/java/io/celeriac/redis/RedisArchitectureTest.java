package io.celeriac.redis;

import com.tngtech.archunit.core.domain.JavaClasses;
import io.celeriac.architecture.ArchitectureRules;
import org.junit.jupiter.api.Test;

/** celeriac-redis keeps Lettuce and Jackson to itself: users configure it with URLs and core types only. */
class RedisArchitectureTest {
    private static final JavaClasses REDIS = ArchitectureRules.productionClasses("io.celeriac.redis");

    @Test
    void noLettuceNettyNorJacksonTypeInThePublicApi() {
        ArchitectureRules.noLibraryTypesInPublicApi(REDIS, "io.lettuce", "io.netty", "com.fasterxml.jackson");
    }
}
