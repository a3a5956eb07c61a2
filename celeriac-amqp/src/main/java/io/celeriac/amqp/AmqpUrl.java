package io.celeriac.amqp;

import io.celeriac.CeleriacException;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

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
 *       {@code broker_connection_timeout} default).
 * </ul>
 *
 * @param maxPriority the queues' {@code x-max-priority}, or null to declare queues without one (priorities are then
 *     ignored by RabbitMQ, as for Celery without {@code task_queue_max_priority})
 */
public record AmqpUrl(String host, int port, String virtualHost, String username, String password, boolean tls,
                      Integer maxPriority, Duration heartbeat, Duration connectTimeout) {
    public static final int DEFAULT_PORT = 5672;
    public static final int DEFAULT_TLS_PORT = 5671;
    public static final int DEFAULT_HEARTBEAT_SECONDS = 60;
    public static final int DEFAULT_CONNECT_TIMEOUT_SECONDS = 4;

    public AmqpUrl {
        if (maxPriority != null && (maxPriority < 1 || maxPriority > 255)) {
            throw new IllegalArgumentException("task_queue_max_priority must be 1-255 (RabbitMQ's range), was "
                    + maxPriority);
        }
    }

    /** True for the schemes this class parses. */
    public static boolean supports(String url) {
        return url.startsWith("amqp://") || url.startsWith("amqps://") || url.startsWith("pyamqp://")
                || url.startsWith("rabbitmq://");
    }

    public static AmqpUrl parse(String url) {
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
        for (Map.Entry<String, String> e : query.entrySet()) {
            try {
                switch (e.getKey()) {
                    case "task_queue_max_priority", "x-max-priority", "max_priority" ->
                            maxPriority = Integer.valueOf(e.getValue());
                    case "heartbeat" -> heartbeat = Duration.ofSeconds(Long.parseLong(e.getValue()));
                    case "connect_timeout" -> connectTimeout = Duration.ofMillis(
                            Math.round(Double.parseDouble(e.getValue()) * 1000));
                    default -> throw new CeleriacException("unknown option '" + e.getKey() + "' in AMQP URL "
                            + redacted(url) + "; known: task_queue_max_priority, heartbeat, connect_timeout");
                }
            } catch (NumberFormatException ex) {
                throw new CeleriacException("bad value '" + e.getValue() + "' for " + e.getKey() + " in AMQP URL "
                        + redacted(url));
            }
        }
        return new AmqpUrl(host, port, vhost, user, password, tls, maxPriority, heartbeat, connectTimeout);
    }

    private static Map<String, String> query(String raw) {
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
        return new AmqpUrl(host, port, virtualHost, username, password, tls, max, heartbeat, connectTimeout);
    }

    /** The URL without its password, fit for logs. */
    @Override
    public String toString() {
        // A '/' inside a vhost name must be escaped in a URL; the default vhost is the empty path, as kombu writes it.
        String vhostPart = virtualHost.equals("/") ? ""
                : java.net.URLEncoder.encode(virtualHost, StandardCharsets.UTF_8).replace("+", "%20");
        return (tls ? "amqps://" : "amqp://") + username + (password == null ? "" : ":***") + "@" + host + ":" + port
                + "/" + vhostPart;
    }
}
