package io.celeriac.testing;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * A RabbitMQ cluster of private nodes on loopback, as production runs RabbitMQ for quorum queues: each node a
 * {@link RabbitMqServer} (its own name, AMQP and distribution ports, database), all with one Erlang cookie; the first
 * boots alone and each other joins it ({@code rabbitmqctl stop_app}, {@code join_cluster}, {@code start_app}), which
 * is deterministic where classic-config peer discovery may let nodes that boot together form separate clusters.
 *
 * <p>{@link #url(String)} is the failover list kombu accepts in {@code broker_url}: every node's URL separated by
 * {@code ;}. Use with {@code @RegisterExtension static RabbitMqCluster CLUSTER = new RabbitMqCluster(3);}.
 */
public final class RabbitMqCluster implements BeforeAllCallback, AfterAllCallback {
    private final List<RabbitMqServer> nodes = new ArrayList<>();

    public RabbitMqCluster(int size) {
        if (size < 1) {
            throw new IllegalArgumentException("size < 1: " + size);
        }
        String cookie = UUID.randomUUID().toString().replace("-", "").toUpperCase();
        for (int i = 0; i < size; i++) {
            nodes.add(new RabbitMqServer(cookie));
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        close();
    }

    /** Starts the nodes and joins each to the first; returns once every node lists all of them as running. */
    public void start() throws IOException, InterruptedException {
        RabbitMqServer first = nodes.get(0);
        first.start();
        for (RabbitMqServer n : nodes.subList(1, nodes.size())) {
            n.start();
            n.cli("rabbitmqctl", "stop_app");
            n.cli("rabbitmqctl", "join_cluster", first.nodeName());
            n.cli("rabbitmqctl", "start_app");
        }
        String status = first.cli("rabbitmqctl", "cluster_status", "--formatter", "json");
        for (RabbitMqServer n : nodes) {
            if (!status.contains(n.nodeName())) {
                throw new IllegalStateException(n.nodeName() + " did not join the cluster: " + status);
            }
        }
    }

    public List<RabbitMqServer> nodes() {
        return List.copyOf(nodes);
    }

    /**
     * Every node's {@code amqp://guest:guest@127.0.0.1:<port>/}, separated by {@code ;}, {@code query} (for example
     * {@code ?task_default_queue_type=quorum}, may be empty) on the first.
     */
    public String url(String query) {
        StringBuilder url = new StringBuilder(nodes.get(0).url()).append(query);
        for (RabbitMqServer n : nodes.subList(1, nodes.size())) {
            url.append(';').append(n.url());
        }
        return url.toString();
    }

    /** The node where the Raft leader of quorum queue {@code queue} (in vhost {@code /}) runs, asked of a live node. */
    public RabbitMqServer leaderOf(String queue) throws IOException, InterruptedException {
        RabbitMqServer asked = nodes.stream().filter(RabbitMqServer::alive).findFirst().orElseThrow();
        String out = asked.cli("rabbitmqctl", "list_queues", "name", "leader", "--quiet", "--no-table-headers");
        for (String line : out.split("\n")) {
            String[] cols = line.trim().split("\\s+");
            if (cols.length == 2 && cols[0].equals(queue)) {
                for (RabbitMqServer n : nodes) {
                    if (n.nodeName().equals(cols[1])) {
                        return n;
                    }
                }
            }
        }
        throw new IllegalStateException("no leader of queue '" + queue + "' in:\n" + out);
    }

    public void close() throws IOException, InterruptedException {
        for (RabbitMqServer n : nodes) {
            n.close();
        }
    }
}
