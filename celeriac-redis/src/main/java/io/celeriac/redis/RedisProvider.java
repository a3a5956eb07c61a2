package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerProvider;

/** Registers {@code redis://}, {@code rediss://}, Sentinel's {@code sentinel://} and Redis Cluster's {@code redis+cluster://} URLs. */
public final class RedisProvider implements BrokerProvider {
    @Override
    public boolean supports(String url) {
        return RedisUrl.isRedisUrl(url);
    }

    @Override
    public Broker createBroker(String url, CeleriacConfig config) {
        return new RedisBroker(url, config);
    }

    @Override
    public ResultBackend createResultBackend(String url, CeleriacConfig config) {
        return new RedisResultBackend(url, config);
    }
}
