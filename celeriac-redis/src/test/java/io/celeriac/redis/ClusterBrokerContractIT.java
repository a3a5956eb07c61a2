package io.celeriac.redis;

import io.celeriac.CeleriacConfig;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerContract;
import io.celeriac.testing.RedisClusterSet;

import java.util.List;

/**
 * The broker contract on a Redis Cluster of three masters and three replicas: each queue in its own slot, a
 * consumer's reserve asking each queue's slot in turn, its heartbeat and a dead consumer's recovery per slot, every
 * write confirmed by the slot's replica ({@code WAIT} on the connection to the slot's master). The result backend is
 * the in-memory one: on a cluster the broker does not store results in its reserve script.
 */
class ClusterBrokerContractIT extends BrokerContract {
    // Started by hand, once for the class, for the same reason as RedisBrokerContractIT's server.
    private static RedisClusterSet cluster;

    static synchronized RedisClusterSet cluster() throws Exception {
        if (cluster == null) {
            cluster = RedisClusterSet.start();
            RedisClusterSet started = cluster;
            Runtime.getRuntime().addShutdownHook(new Thread(started::close));
        }
        return cluster;
    }

    @Override
    protected Transport open() throws Exception {
        RedisClusterSet set = cluster();
        set.flushAll();
        String url = set.url();
        CeleriacConfig config = CeleriacConfig.builder().brokerUrl(url).build();
        // Closed with the transport, as in RedisBrokerContractIT: an open one keeps beating into later tests.
        List<RedisBroker> opened = new java.util.concurrent.CopyOnWriteArrayList<>();
        return new Transport() {
            @Override
            public Broker connect() {
                RedisBroker b = new RedisBroker(url, config);
                opened.add(b);
                return b;
            }

            @Override
            public void crash(Broker consumer) {
                // As on a plain server: closing with messages unacked leaves the consumer registered in each slot it
                // consumed, with no heartbeat.
                consumer.close();
            }

            @Override
            public void awaitRecovery(Broker survivor) {
                // Lift each slot's first-heartbeat hold (see RedisBrokerContractIT), then recover every slot.
                for (String queue : List.of("contract.a", "contract.b")) {
                    String key = "{" + queue + "}.celeriac.reap.after";
                    set.run(set.masterOf(key), c -> c.sync().del(key));
                }
                ((RedisBroker) survivor).recoverNow();
            }

            @Override
            public void close() {
                opened.forEach(RedisBroker::close);
            }
        };
    }
}
