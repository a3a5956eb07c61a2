package io.celeriac.amqp;

import io.celeriac.CeleriacException;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A RabbitMQ URL as Celery and kombu write them: {@code amqp://[user[:password]@]host[:port][/vhost][?options]},
 * {@code amqps://} for TLS. As in kombu ({@code kombu/utils/url.py}), a missing user and password mean
 * {@code guest}/{@code guest}, a missing port 5672 (5671 for amqps), and a missing or empty vhost {@code /}; the vhost
 * is percent-decoded, so {@code %2F} is {@code /} and {@code amqp://host//} is also {@code /}. {@code pyamqp://} and
 * {@code rabbitmq://}, kombu's aliases, are accepted too.
 *
 * <p>Query options (kombu takes connection options from the query string the same way):
 * <ul>
 *   <li>{@code task_queue_max_priority} — Celery's setting of that name: queues are declared with
 *       {@code x-max-priority} of this value (see docs/amqp.md; it must match what Celery workers declare);
 *   <li>{@code heartbeat} — seconds between AMQP heartbeats, default {@value #DEFAULT_HEARTBEAT_SECONDS} (kombu's
 *       {@code broker_heartbeat} default is 120; a shorter one notices a dead server sooner);
 *   <li>{@code connect_timeout} — seconds, default {@value #DEFAULT_CONNECT_TIMEOUT_SECONDS} (kombu's
 *       {@code broker_connection_timeout} default);
 *   <li>{@code task_default_queue_type} (or {@code queue_type}) — Celery 5.5's setting: {@code classic} (default)
 *       or {@code quorum}, task queues then declared with {@code x-queue-type: quorum} as kombu declares them;
 *   <li>{@code delivery_limit} (or {@code x-delivery-limit}) — quorum queues only: a message returned to its queue
 *       more than this many times (requeued, or its consumer died) is dead-lettered by RabbitMQ into the dead-letter
 *       queue, with reason {@code delivery_limit}.
 * </ul>
 *
 * <p>Several servers of one cluster, for failover, as kombu writes them in {@code broker_url}: full URLs separated by
 * {@code ;} ({@code amqp://u:p@h1:5672//;amqp://u:p@h2:5672//}). They must name the same user, password, vhost and
 * scheme; options are read from the first (a later one may repeat them, not differ). A connection tries the hosts in
 * the order written.
 *
 * @param maxPriority the queues' {@code x-max-priority}, or null to declare queues without one (priorities are then
 *     ignored by RabbitMQ, as for Celery without {@code task_queue_max_priority})
 * @param quorum whether task queues are quorum queues ({@code task_default_queue_type=quorum})
 * @param deliveryLimit a quorum queue's {@code x-delivery-limit}, or null for none
 * @param hosts every server to try, in order; the first is {@link #host()}:{@link #port()}
 */
public record AmqpUrl(String host, int port, String virtualHost, String username, @Nullable String password,
                      boolean tls, @Nullable Integer maxPriority, Duration heartbeat, Duration connectTimeout,
                      boolean quorum, @Nullable Integer deliveryLimit, List<Host> hosts) {
    public static final int DEFAULT_PORT = 5672;
    public static final int DEFAULT_TLS_PORT = 5671;
    public static final int DEFAULT_HEARTBEAT_SECONDS = 60;
    public static final int DEFAULT_CONNECT_TIMEOUT_SECONDS = 4;

    /** One server of a failover list. */
    public record Host(String host, int port) {
        @Override
        public String toString() {
            return host + ":" + port;
        }
    }

    public AmqpUrl {
        if (maxPriority != null && (maxPriority < 1 || maxPriority > 255)) {
            throw new IllegalArgumentException("task_queue_max_priority must be 1-255 (RabbitMQ's range), was "
                    + maxPriority);
        }
        if (quorum && maxPriority != null) {
            // RabbitMQ 3.x refuses x-max-priority on a quorum queue (4.0 has two fixed priorities and still no
            // x-max-priority); a declaration would fail on every queue, so say it once, here.
            throw new IllegalArgumentException("task_queue_max_priority cannot be used with quorum queues "
                    + "(RabbitMQ does not take x-max-priority on them); remove one of the two options");
        }
        if (deliveryLimit != null && (!quorum || deliveryLimit < 0)) {
            throw new IllegalArgumentException(deliveryLimit < 0 ? "delivery_limit < 0: " + deliveryLimit
                    : "delivery_limit needs task_default_queue_type=quorum (only quorum queues count deliveries)");
        }
        hosts = hosts == null || hosts.isEmpty() ? List.of(new Host(host, port)) : List.copyOf(hosts);
        if (!hosts.get(0).equals(new Host(host, port))) {
            throw new IllegalArgumentException("hosts must start with " + host + ":" + port + ", was " + hosts);
        }
    }

    /** One server, classic queues. */
    public AmqpUrl(String host, int port, String virtualHost, String username, @Nullable String password, boolean tls,
                   @Nullable Integer maxPriority, Duration heartbeat, Duration connectTimeout) {
        this(host, port, virtualHost, username, password, tls, maxPriority, heartbeat, connectTimeout, false, null,
                List.of());
    }

    /** True for the schemes this class parses. */
    public static boolean supports(String url) {
        return url.startsWith("amqp://") || url.startsWith("amqps://") || url.startsWith("pyamqp://")
                || url.startsWith("rabbitmq://");
    }

    public static AmqpUrl parse(String url) {
        if (url.contains(";")) {
            return parseFailover(url);
        }
        return parseOne(url);
    }

    /** kombu's failover list: {@code url;url;...}, one cluster's servers. */
    private static AmqpUrl parseFailover(String url) {
        List<AmqpUrl> parts = new ArrayList<>();
        List<String> queries = new ArrayList<>();
        for (String part : url.split(";")) {
            if (!part.isBlank()) {
                parts.add(parseOne(part.trim()));
                int q = part.indexOf('?');
                queries.add(q < 0 ? "" : part.substring(q + 1).trim());
            }
        }
        AmqpUrl first = parts.get(0);
        List<Host> hosts = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            AmqpUrl p = parts.get(i);
            if (!p.virtualHost.equals(first.virtualHost) || !p.username.equals(first.username)
                    || !java.util.Objects.equals(p.password, first.password) || p.tls != first.tls) {
                throw new CeleriacException("the URLs of a failover list must name the same user, password, vhost "
                        + "and scheme, only hosts and ports differ: " + redacted(url));
            }
            if (!queries.get(i).isEmpty() && !queries.get(i).equals(queries.get(0))) {
                throw new CeleriacException("options of a failover list are read from its first URL; a later URL "
                        + "may only repeat them: " + redacted(url));
            }
            hosts.add(new Host(p.host, p.port));
        }
        return new AmqpUrl(first.host, first.port, first.virtualHost, first.username, first.password, first.tls,
                first.maxPriority, first.heartbeat, first.connectTimeout, first.quorum, first.deliveryLimit, hosts);
    }

    private static AmqpUrl parseOne(String url) {
        if (!supports(url)) {
            throw new CeleriacException("not an AMQP URL: " + redacted(url) + " (expected amqp://user:password@host:"
                    + "port/vhost)");
        }
        boolean tls = url.startsWith("amqps://");
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new CeleriacException("bad AMQP URL " + redacted(url) + ": " + e.getReason());
        }
        String host = uri.getHost() == null || uri.getHost().isEmpty() ? "localhost" : uri.getHost();
        int port = uri.getPort() < 0 ? (tls ? DEFAULT_TLS_PORT : DEFAULT_PORT) : uri.getPort();
        String rawPath = uri.getRawPath();
        String vhost = rawPath == null || rawPath.length() <= 1 ? "/" : decode(rawPath.substring(1));
        String user = "guest";
        String password = "guest";
        String info = uri.getRawUserInfo();
        if (info != null && !info.isEmpty()) {
            int colon = info.indexOf(':');
            user = decode(colon < 0 ? info : info.substring(0, colon));
            password = colon < 0 ? null : decode(info.substring(colon + 1));
        }
        Map<String, String> query = query(uri.getRawQuery());
        Integer maxPriority = null;
        Duration heartbeat = Duration.ofSeconds(DEFAULT_HEARTBEAT_SECONDS);
        Duration connectTimeout = Duration.ofSeconds(DEFAULT_CONNECT_TIMEOUT_SECONDS);
        boolean quorum = false;
        Integer deliveryLimit = null;
        for (Map.Entry<String, String> e : query.entrySet()) {
            try {
                switch (e.getKey()) {
                    case "task_queue_max_priority", "x-max-priority", "max_priority" ->
                            maxPriority = Integer.valueOf(e.getValue());
                    case "heartbeat" -> heartbeat = Duration.ofSeconds(Long.parseLong(e.getValue()));
                    case "connect_timeout" -> connectTimeout = Duration.ofMillis(
                            Math.round(Double.parseDouble(e.getValue()) * 1000));
                    case "task_default_queue_type", "queue_type", "x-queue-type" -> quorum = switch (e.getValue()) {
                        case "quorum" -> true;
                        case "classic" -> false;
                        default -> throw new NumberFormatException();
                    };
                    case "delivery_limit", "x-delivery-limit" -> deliveryLimit = Integer.valueOf(e.getValue());
                    default -> throw new CeleriacException("unknown option '" + e.getKey() + "' in AMQP URL "
                            + redacted(url) + "; known: task_queue_max_priority, heartbeat, connect_timeout, "
                            + "task_default_queue_type, delivery_limit");
                }
            } catch (NumberFormatException ex) {
                throw new CeleriacException("bad value '" + e.getValue() + "' for " + e.getKey() + " in AMQP URL "
                        + redacted(url));
            }
        }
        try {
            return new AmqpUrl(host, port, vhost, user, password, tls, maxPriority, heartbeat, connectTimeout, quorum,
                    deliveryLimit, List.of());
        } catch (IllegalArgumentException e) {
            throw new CeleriacException("AMQP URL " + redacted(url) + ": " + e.getMessage());
        }
    }

    private static Map<String, String> query(@Nullable String raw) {
        Map<String, String> q = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) {
            return q;
        }
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            q.put(decode(eq < 0 ? pair : pair.substring(0, eq)), eq < 0 ? "" : decode(pair.substring(eq + 1)));
        }
        return q;
    }

    private static String decode(String s) {
        return URLDecoder.decode(s.replace("+", "%2B"), StandardCharsets.UTF_8);
    }

    private static String redacted(String url) {
        return url.replaceAll("://[^/@]*@", "://***@");
    }

    /** The same server with another {@code x-max-priority} (null: none). */
    public AmqpUrl withMaxPriority(Integer max) {
        return new AmqpUrl(host, port, virtualHost, username, password, tls, max, heartbeat, connectTimeout, quorum,
                deliveryLimit, hosts);
    }

    /** The URL without its password, fit for logs. */
    @Override
    public String toString() {
        // A '/' inside a vhost name must be escaped in a URL; the default vhost is the empty path, as kombu writes it.
        String vhostPart = virtualHost.equals("/") ? ""
                : java.net.URLEncoder.encode(virtualHost, StandardCharsets.UTF_8).replace("+", "%20");
        StringBuilder out = new StringBuilder();
        for (Host h : hosts) {
            out.append(out.length() == 0 ? "" : ";").append(tls ? "amqps://" : "amqp://").append(username)
                    .append(password == null ? "" : ":***").append("@").append(h).append("/").append(vhostPart);
        }
        return out.toString();
    }
}
