package io.celeriac.amqp;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerProvider;
import io.celeriac.protocol.MessageCodec;

/**
 * Registers {@code amqp://} and {@code amqps://} URLs (and kombu's aliases {@code pyamqp://}, {@code rabbitmq://}) as
 * brokers, and {@code rpc://} as Celery's RPC result backend over them.
 */
public final class AmqpProvider implements BrokerProvider {
    @Override
    public boolean supports(String url) {
        return AmqpUrl.supports(url) || url.startsWith("rpc://");
    }

    @Override
    public Broker createBroker(String url, CeleriacConfig config) {
        if (url.startsWith("rpc://")) {
            throw new IllegalArgumentException("rpc:// is a result backend, not a broker: use an amqp:// broker URL");
        }
        return new AmqpBroker(url, config);
    }

    /**
     * {@code rpc://}: Celery's RPC backend over the AMQP broker ({@link AmqpRpcBackend}). Any other AMQP URL is refused
     * with what to use instead: RabbitMQ does not store results.
     */
    @Override
    public ResultBackend createResultBackend(String url, CeleriacConfig config) {
        if (url.startsWith("rpc://")) {
            if (!AmqpUrl.supports(config.brokerUrl())) {
                throw new IllegalArgumentException("result_backend rpc:// sends results through an AMQP broker, but "
                        + "broker_url is " + config.brokerUrl().replaceAll("://[^/@]*@", "://***@")
                        + ": use an amqp:// broker, or a redis:// or jdbc: result backend");
            }
            return new AmqpRpcBackend(config.brokerUrl(), config.resultExpires(),
                    new MessageCodec(config.maxMessageBytes()));
        }
        throw new IllegalArgumentException("RabbitMQ (" + url.replaceAll("://[^/@]*@", "://***@") + ") cannot store "
                + "task results: configure result_backend with rpc:// (results sent back to the caller as messages, "
                + "as Celery's rpc backend), or a redis:// or jdbc: URL. The broker and the result backend may differ.");
    }
}
