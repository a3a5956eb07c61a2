package io.celeriac.amqp;

import com.rabbitmq.client.Channel;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;

/**
 * The exchanges, queues and bindings, declared as Celery 5.2 declares them so that a Python worker's declaration of
 * the same queue succeeds (RabbitMQ refuses a redeclaration with other arguments: PRECONDITION_FAILED). From
 * {@code celery/app/amqp.py} ({@code Queues._add}, {@code Queues.new_missing}, {@code AMQP.Queues}) and
 * {@code kombu/entity.py} ({@code Exchange} and {@code Queue} defaults, {@code Queue.declare}):
 * <ul>
 *   <li>every task queue {@code q} has a durable direct exchange of the same name ({@code task_default_exchange}
 *       defaults to the default queue's name, {@code new_missing} names a missing queue's exchange after it), the
 *       queue is durable, not exclusive, not auto-deleted, and bound to that exchange with routing key {@code q};
 *   <li>its only argument is {@code x-max-priority}, and only when {@code task_queue_max_priority} is set
 *       ({@code Queues._set_max_priority}); with Celery 5.5's {@code task_default_queue_type = "quorum"} it is
 *       {@code x-queue-type: quorum} instead ({@code celery/app/amqp.py} {@code Queues._add} puts it in
 *       {@code queue_arguments}); a {@code delivery_limit} adds {@code x-delivery-limit} and a dead-letter target, the
 *       default exchange with our dead-letter queue's name as routing key, so RabbitMQ moves a poison message there;
 *   <li>tasks are published to the default exchange with the queue name as routing key (the "anon-exchange" branch
 *       of {@code send_task_message}), so the per-queue exchange serves other producers' routing.
 * </ul>
 */
final class Topology {
    private final Integer maxPriority;
    private final boolean quorum;
    private final Integer deliveryLimit;
    private final String deadLetterQueue;

    Topology(Integer maxPriority) {
        this(maxPriority, false, null, null);
    }

    Topology(Integer maxPriority, boolean quorum, Integer deliveryLimit, String deadLetterQueue) {
        this.maxPriority = maxPriority;
        this.quorum = quorum;
        this.deliveryLimit = deliveryLimit;
        this.deadLetterQueue = deadLetterQueue;
    }

    Integer maxPriority() {
        return maxPriority;
    }

    /**
     * Celery's queue arguments: {@code x-max-priority} when configured, or {@code x-queue-type: quorum}, plus the
     * delivery limit and its dead-letter target when one is set.
     */
    Map<String, Object> queueArguments() {
        Map<String, Object> args = new HashMap<>();
        if (maxPriority != null) {
            args.put("x-max-priority", maxPriority);
        }
        if (quorum) {
            args.put("x-queue-type", "quorum");
        }
        if (deliveryLimit != null) {
            args.put("x-delivery-limit", deliveryLimit);
            // why the default exchange: it reaches any queue by name with nothing more to declare or bind.
            args.put("x-dead-letter-exchange", "");
            args.put("x-dead-letter-routing-key", deadLetterQueue);
        }
        return args;
    }

    /** Whether RabbitMQ itself dead-letters into our dead-letter queue (a delivery limit is set). */
    boolean deadLettersByRabbitMq() {
        return deliveryLimit != null;
    }

    /** Declares task queue {@code queue}, its exchange and their binding (exchange.declare, queue.declare, bind). */
    void declareTaskQueue(Channel channel, String queue) throws IOException {
        channel.exchangeDeclare(queue, "direct", true, false, null);
        channel.queueDeclare(queue, true, false, false, queueArguments());
        channel.queueBind(queue, queue, queue);
    }

    /**
     * Declares the dead-letter queue: a plain durable queue, without priorities (its order is the order things
     * went wrong), reached through the default exchange.
     */
    static void declareDeadLetterQueue(Channel channel, String queue) throws IOException {
        channel.queueDeclare(queue, true, false, false, null);
    }
}
