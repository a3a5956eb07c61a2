package io.celeriac.redis;

import io.celeriac.CeleriacException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RedisUrlTest {
    @Test
    void celeryStyleUrls() {
        assertThat(RedisUrl.parse("redis://localhost:6379/0")).isEqualTo(new RedisUrl("localhost", 6379, 0, null, null, false));
        assertThat(RedisUrl.parse("redis://h")).isEqualTo(new RedisUrl("h", 6379, 0, null, null, false));
        assertThat(RedisUrl.parse("redis://:s%40cret@h:7000/3"))
                .isEqualTo(new RedisUrl("h", 7000, 3, null, "s@cret", false));
        assertThat(RedisUrl.parse("rediss://user:pw@h:6380/1")).isEqualTo(new RedisUrl("h", 6380, 1, "user", "pw", true));
        assertThat(RedisUrl.parse("redis://:pw@h:1/2").toString()).isEqualTo("redis://***@h:1/2");
    }

    @Test
    void sentinelIsUnderstoodAndRefusedClearly() {
        assertThatThrownBy(() -> RedisUrl.parse("redis+sentinel://:pw@s1:26379/0"))
                .isInstanceOf(CeleriacException.class).hasMessageContaining("Sentinel is not supported")
                .hasMessageNotContaining("pw");
        assertThat(new RedisProvider().supports("redis+sentinel://s1:26379")).isTrue();
    }

    @Test
    void badUrlsAreRefused() {
        assertThatThrownBy(() -> RedisUrl.parse("redis://h:6379/zero")).hasMessageContaining("database number");
        assertThatThrownBy(() -> RedisUrl.parse("amqp://h")).hasMessageContaining("not a Redis URL");
    }
}
