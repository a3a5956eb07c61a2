package io.celeriac.amqp;

/**
 * The broker contract on quorum queues ({@code task_default_queue_type=quorum}): the same suite, on the same private
 * node, except that RabbitMQ 3.x serves a quorum queue first in, first out whatever the priority, and puts a
 * requeued message behind those waiting.
 */
class QuorumBrokerContractIT extends AmqpBrokerContractIT {
    @Override
    protected String options() {
        return "?task_default_queue_type=quorum";
    }

    @Override
    protected boolean honoursPriorities() {
        return false;
    }
}
