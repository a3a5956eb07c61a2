package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerProvider;

/** Registers {@code redis://}, {@code rediss://} (and, refused for now, {@code redis+sentinel://}) URLs. */
public final class RedisProvider implements BrokerProvider {
    @Override
    public boolean supports(String url) {
        return url.startsWith("redis://") || url.startsWith("rediss://") || url.startsWith("redis+sentinel://")
                || url.startsWith("sentinel://");
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
