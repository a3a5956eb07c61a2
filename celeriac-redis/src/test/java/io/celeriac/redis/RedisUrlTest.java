package io.celeriac.redis;

import io.celeriac.CeleriacException;
import org.junit.jupiter.api.Test;

import java.util.Map;

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
    void clusterUrlsListTheirSeeds() {
        RedisUrl u = RedisUrl.parse("redis+cluster://:s%40cret@n1:7000,n2:7001,n3");
        assertThat(u.isCluster()).isTrue();
        assertThat(u.isSentinel()).isFalse();
        assertThat(u.clusterSeeds()).containsExactly("n1:7000", "n2:7001", "n3:6379");
        assertThat(u.password()).isEqualTo("s@cret");
        assertThat(u.db()).isZero();
        assertThat(u.toString()).isEqualTo("redis+cluster://***@n1:7000,n2:7001,n3:6379");
        assertThat(u.clusterUris()).hasSize(3);
        assertThat(RedisUrl.isRedisUrl("redis+cluster://n1:7000")).isTrue();
        assertThat(RedisUrl.parse("redis+cluster://n1:7000/0").isCluster()).isTrue();
        assertThat(u.sameServerAs(RedisUrl.parse("redis+cluster://:s%40cret@n3,n2:7001,n1:7000"))).isTrue();
        assertThat(u.sameServerAs(RedisUrl.parse("redis://:s%40cret@n1:7000"))).isFalse();
        assertThatThrownBy(() -> RedisUrl.parse("redis+cluster://n1:7000/1")).isInstanceOf(CeleriacException.class)
                .hasMessageContaining("database 0 only");
        assertThatThrownBy(() -> u.withDb(1)).isInstanceOf(CeleriacException.class);
    }

    @Test
    void sentinelUrlsAsCeleryWritesThem() {
        RedisUrl u = RedisUrl.parse("sentinel://:s%40cret@s1:26379;sentinel://s2:26380;sentinel://s3/2");
        assertThat(u.isSentinel()).isTrue();
        assertThat(u.sentinels()).containsExactly("s1:26379", "s2:26380", "s3:26379");
        assertThat(u.db()).isEqualTo(2);
        assertThat(u.password()).isEqualTo("s@cret");
        assertThat(u.masterName()).isNull();
        // The master's name from Celery's transport options, unless the URL has one.
        assertThat(u.withTransportOptions(Map.of("master_name", "cluster1")).masterName()).isEqualTo("cluster1");
        RedisUrl named = RedisUrl.parse("redis+sentinel://s1:1;sentinel://s2:2/0?master_name=mine");
        assertThat(named.masterName()).isEqualTo("mine");
        assertThat(named.withTransportOptions(Map.of("master_name", "other")).masterName()).isEqualTo("mine");
        assertThat(u.toString()).isEqualTo("sentinel://***@s1:26379;sentinel://s2:26380;sentinel://s3:26379/2")
                .doesNotContain("cret");
        assertThat(new RedisProvider().supports("sentinel://s1:26379")).isTrue();
        assertThat(RedisUrl.isRedisUrl("redis+sentinel://s1")).isTrue();
        assertThat(RedisUrl.isRedisUrl("amqp://h")).isFalse();
    }

    @Test
    void aSentinelUrlWithoutAMasterNameSaysHowToGiveOne() {
        assertThatThrownBy(() -> RedisUrl.parse("sentinel://:pw@s1:26379/0").toRedisUri())
                .isInstanceOf(CeleriacException.class).hasMessageContaining("master_name")
                .hasMessageNotContaining("pw");
        assertThatThrownBy(() -> RedisUrl.parse("sentinel://s1:1;redis://s2:2")).hasMessageContaining("not a Sentinel URL");
    }

    @Test
    void oneScriptWritesForBrokerAndBackendOnlyOnTheSameServer() {
        RedisUrl a = RedisUrl.parse("sentinel://s1:1;sentinel://s2:2/0?master_name=m");
        assertThat(a.sameServerAs(RedisUrl.parse("sentinel://s1:1;sentinel://s2:2/1?master_name=m"))).isTrue();
        assertThat(a.sameServerAs(RedisUrl.parse("sentinel://s1:1;sentinel://s2:2/1?master_name=other"))).isFalse();
        assertThat(a.sameServerAs(RedisUrl.parse("redis://s1:1/0"))).isFalse();
        assertThat(RedisUrl.parse("redis://h:1/0").sameServerAs(RedisUrl.parse("redis://H:1/3"))).isTrue();
    }

    @Test
    void badUrlsAreRefused() {
        assertThatThrownBy(() -> RedisUrl.parse("redis://h:6379/zero")).hasMessageContaining("database number");
        assertThatThrownBy(() -> RedisUrl.parse("amqp://h")).hasMessageContaining("not a Redis URL");
    }
}
