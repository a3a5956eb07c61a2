package io.celeriac.redis;

import io.celeriac.testing.RedisSentinelSet;

/**
 * The broker contract through Sentinel: the same suite as {@link RedisBrokerContractIT}, with the broker and the
 * result backend finding their master through three sentinels (one master, one replica), every send waiting for the
 * replica ({@code WAIT}, on by default with Sentinel).
 */
class SentinelBrokerContractIT extends RedisBrokerContractIT {
    // Started by hand for the same reason as the plain server (jqwik runs no JUnit extensions), once for the class.
    private static RedisSentinelSet set;

    @Override
    protected String brokerUrl() throws Exception {
        synchronized (SentinelBrokerContractIT.class) {
            if (set == null) {
                set = RedisSentinelSet.start(1);
                RedisSentinelSet started = set;
                Runtime.getRuntime().addShutdownHook(new Thread(started::close));
            }
            return set.url(0);
        }
    }
}
