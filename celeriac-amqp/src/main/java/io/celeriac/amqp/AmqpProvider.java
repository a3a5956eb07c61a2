package io.celeriac.amqp;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerProvider;

/**
 * Registers {@code amqp://} and {@code amqps://} URLs (and kombu's aliases {@code pyamqp://}, {@code rabbitmq://}) as
 * brokers. RabbitMQ is not a result backend here: Celery's {@code rpc://} backend (replies on the caller's own queue)
 * is not implemented yet, so asking for results on an AMQP URL says what to use instead.
 */
public final class AmqpProvider implements BrokerProvider {
    @Override
    public boolean supports(String url) {
        return AmqpUrl.supports(url);
    }

    @Override
    public Broker createBroker(String url, CeleriacConfig config) {
        return new AmqpBroker(url, config);
    }

    @Override
    public ResultBackend createResultBackend(String url, CeleriacConfig config) {
        throw new IllegalArgumentException("RabbitMQ (" + url.replaceAll("://[^/@]*@", "://***@") + ") cannot store "
                + "task results: configure result_backend with a redis:// or jdbc: URL (Celery's rpc:// backend is not "
                + "supported yet). The broker and the result backend may differ.");
    }
}
