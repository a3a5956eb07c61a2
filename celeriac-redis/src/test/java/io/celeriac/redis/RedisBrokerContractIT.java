package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerContract;
import io.celeriac.testing.RedisServerExtension;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;

/**
 * The Redis broker keeps the broker contract against a private redis-server. Each consumer is its own
 * {@link RedisBroker}, as each worker process has its own; a kill is a consumer that stops heartbeating with its
 * messages unacked, and recovery is what any live consumer's reaper then does.
 */
class RedisBrokerContractIT extends BrokerContract {
    // Started by hand, not as a JUnit extension: the contract's property runs on jqwik's engine, which does not run
    // JUnit extensions, and both engines share the one server.
    private static final RedisServerExtension REDIS = new RedisServerExtension();
    private static boolean started;

    private static synchronized String url() throws Exception {
        if (!started) {
            REDIS.beforeAll(null);
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    REDIS.afterAll(null);
                } catch (Exception ignored) {
                    // the JVM is exiting
                }
            }));
            started = true;
        }
        return REDIS.url(0);
    }

    /** The broker's URL (database 0); {@link SentinelBrokerContractIT} runs the same contract through Sentinel. */
    protected String brokerUrl() throws Exception {
        return url();
    }

    /** kombu's {@code global_keyprefix} to run the contract under ({@link PrefixedRedisBrokerContractIT}). */
    protected String globalKeyPrefix() {
        return "";
    }

    @Override
    protected Transport open() throws Exception {
        String url = brokerUrl();
        RedisClient admin = RedisClient.create(RedisUrl.parse(url).toRedisUri());
        StatefulRedisConnection<String, String> adminConnection = admin.connect();
        adminConnection.sync().flushall();
        String prefix = globalKeyPrefix();
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(url)
                .brokerTransportOptions(prefix.isEmpty() ? java.util.Map.of() : java.util.Map.of("global_keyprefix", prefix))
                .build();
        // Every broker a test connects is closed with the transport: one left open keeps beating on this server (a
        // consumer with its own threads) through the tests after it, which see its keys.
        java.util.List<RedisBroker> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
        return new Transport() {
            @Override
            public Broker connect() {
                RedisBroker b = new RedisBroker(url, config);
                opened.add(b);
                return b;
            }

            /** On the broker's server, in another database (Celery's usual layout): stored by the reserve script. */
            @Override
            public ResultBackend resultBackend() {
                RedisResultBackend backend = new RedisResultBackend(RedisUrl.parse(url).withDb(1), null,
                        new io.celeriac.protocol.MessageCodec());
                try (RedisBroker probe = new RedisBroker(url, config)) {
                    org.assertj.core.api.Assertions.assertThat(probe.storesResultsOf(backend))
                            .as("the broker stores this backend's results itself").isTrue();
                }
                return backend;
            }

            @Override
            public void crash(Broker consumer) {
                // Closing with messages unacked leaves the consumer registered with no heartbeat: exactly what a
                // killed process leaves once its heartbeat key has expired.
                consumer.close();
            }

            @Override
            public void awaitRecovery(Broker survivor) {
                // A fresh store's first heartbeat holds reaping (no earlier heartbeat is known, as after a restart
                // that lost them). A kill here is not an outage, so lift the hold and let liveness alone decide;
                // the hold itself is proven by RedisOutageIT.
                adminConnection.sync().del(prefix + "celeriac.reap.after");
                ((RedisBroker) survivor).recoverNow();
            }

            @Override
            public void close() {
                opened.forEach(RedisBroker::close);
                adminConnection.close();
                admin.shutdown();
            }
        };
    }
}
