package io.celeriac.redis;

import io.celeriac.CeleriacException;
import io.lettuce.core.RedisURI;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A Redis URL as Celery writes them: {@code redis://[[user]:password@]host[:port][/db]}, {@code rediss://} for TLS,
 * and Sentinel's {@code sentinel://[[user]:password@]host:port[;sentinel://host:port...][/db]} with the master's name
 * from {@code ?master_name=} or from Celery's {@code broker_transport_options = {'master_name': ...}}
 * ({@link #withMasterName}). A Sentinel URL's password is the master's (as kombu reads it); the sentinels themselves
 * are reached without one.
 *
 * <p>Redis Cluster, which kombu has no URL for: {@code redis+cluster://[[user]:password@]host:port[,host:port...]}
 * ({@code rediss+cluster://} for TLS), any nodes of the cluster as seeds, database 0 only (a cluster has no other).
 * Queues are then sharded: docs/redis.md, "Redis Cluster".
 *
 * @param host         the server, or for Sentinel the first sentinel, or for Cluster the first seed (what messages
 *                     name)
 * @param sentinels    the sentinels as {@code host:port}, empty for a plain server
 * @param masterName   the name the sentinels monitor the master under; null for a plain server
 * @param clusterSeeds the cluster nodes to discover the cluster from as {@code host:port}, empty unless Cluster
 */
public record RedisUrl(String host, int port, int db, @Nullable String username, @Nullable String password, boolean tls,
                       List<String> sentinels, @Nullable String masterName, List<String> clusterSeeds) {

    public RedisUrl {
        sentinels = List.copyOf(sentinels);
        clusterSeeds = List.copyOf(clusterSeeds);
    }

    /** A plain server or Sentinel. */
    public RedisUrl(String host, int port, int db, @Nullable String username, @Nullable String password, boolean tls,
                    List<String> sentinels, @Nullable String masterName) {
        this(host, port, db, username, password, tls, sentinels, masterName, List.of());
    }

    /** A plain server. */
    public RedisUrl(String host, int port, int db, @Nullable String username, @Nullable String password, boolean tls) {
        this(host, port, db, username, password, tls, List.of(), null);
    }

    public static RedisUrl parse(String url) {
        if (url.startsWith(CLUSTER) || url.startsWith(CLUSTER_TLS)) {
            return parseCluster(url);
        }
        if (url.startsWith("sentinel://") || url.startsWith("redis+sentinel://")) {
            return parseSentinel(url);
        }
        boolean tls = url.startsWith("rediss://");
        if (!tls && !url.startsWith("redis://")) {
            throw new CeleriacException("not a Redis URL: " + url + " (expected redis://host:port/db)");
        }
        URI uri = URI.create(url);
        String host = uri.getHost() == null || uri.getHost().isEmpty() ? "localhost" : uri.getHost();
        int port = uri.getPort() < 0 ? 6379 : uri.getPort();
        String[] credentials = credentials(uri.getRawUserInfo());
        return new RedisUrl(host, port, db(uri, url), credentials[0], credentials[1], tls);
    }

    /**
     * kombu's Sentinel form: every sentinel written as a URL of its own, joined by {@code ;}; credentials, database
     * and query are read from the first that has them (kombu takes them from the URLs as one).
     */
    private static RedisUrl parseSentinel(String url) {
        List<String> sentinels = new ArrayList<>();
        String user = null;
        String password = null;
        int db = 0;
        String master = null;
        for (String part : url.split(";")) {
            String p = part.trim();
            if (p.isEmpty()) {
                continue;
            }
            if (!p.startsWith("sentinel://") && !p.startsWith("redis+sentinel://")) {
                throw new CeleriacException("not a Sentinel URL: " + redact(p)
                        + " (expected sentinel://host:port;sentinel://host:port/db)");
            }
            URI uri = URI.create(p.startsWith("redis+") ? p.substring("redis+".length()) : p);
            if (uri.getHost() == null || uri.getHost().isEmpty()) {
                throw new CeleriacException("no sentinel host in " + redact(p));
            }
            sentinels.add(uri.getHost() + ":" + (uri.getPort() < 0 ? 26379 : uri.getPort()));
            String[] credentials = credentials(uri.getRawUserInfo());
            if (credentials[1] != null && password == null) {
                user = credentials[0];
                password = credentials[1];
            }
            if (uri.getPath() != null && uri.getPath().length() > 1) {
                db = db(uri, redact(p));
            }
            String name = queryParameter(uri.getRawQuery(), "master_name");
            if (name != null && master == null) {
                master = name;
            }
        }
        if (sentinels.isEmpty()) {
            throw new CeleriacException("no sentinel in " + redact(url));
        }
        String first = sentinels.get(0);
        int colon = first.lastIndexOf(':');
        return new RedisUrl(first.substring(0, colon), Integer.parseInt(first.substring(colon + 1)), db, user,
                password, false, sentinels, master);
    }

    private static final String CLUSTER = "redis+cluster://";
    private static final String CLUSTER_TLS = "rediss+cluster://";

    /** {@code redis+cluster://[[user]:password@]host:port[,host:port...][/0]}: the seeds, comma-separated. */
    private static RedisUrl parseCluster(String url) {
        boolean tls = url.startsWith(CLUSTER_TLS);
        String rest = url.substring(tls ? CLUSTER_TLS.length() : CLUSTER.length());
        int at = rest.lastIndexOf('@');
        String[] credentials = credentials(at < 0 ? null : rest.substring(0, at));
        rest = rest.substring(at + 1);
        int slash = rest.indexOf('/');
        if (slash >= 0) {
            String path = rest.substring(slash + 1);
            if (!path.isEmpty() && !path.equals("0")) {
                throw new CeleriacException("Redis Cluster has database 0 only, not '" + path + "': " + redact(url));
            }
            rest = rest.substring(0, slash);
        }
        List<String> seeds = new ArrayList<>();
        for (String seed : rest.split(",")) {
            String s = seed.trim();
            if (s.isEmpty()) {
                continue;
            }
            int colon = s.lastIndexOf(':');
            try {
                int port = colon < 0 ? 6379 : Integer.parseInt(s.substring(colon + 1));
                seeds.add((colon < 0 ? s : s.substring(0, colon)) + ":" + port);
            } catch (NumberFormatException e) {
                throw new CeleriacException("bad port in Redis Cluster seed '" + s + "' of " + redact(url));
            }
        }
        if (seeds.isEmpty()) {
            throw new CeleriacException("no cluster node in " + redact(url)
                    + " (expected redis+cluster://host:port,host:port)");
        }
        String first = seeds.get(0);
        int colon = first.lastIndexOf(':');
        return new RedisUrl(first.substring(0, colon), Integer.parseInt(first.substring(colon + 1)), 0,
                credentials[0], credentials[1], tls, List.of(), null, seeds);
    }

    /** Whether this is a Redis Cluster (queues sharded over its masters). */
    public boolean isCluster() {
        return !clusterSeeds.isEmpty();
    }

    /** The Lettuce URIs of the cluster's seeds (for this module's connections; Lettuce stays out of the public API). */
    List<RedisURI> clusterUris() {
        List<RedisURI> uris = new ArrayList<>();
        for (String seed : clusterSeeds) {
            int colon = seed.lastIndexOf(':');
            RedisURI.Builder b = RedisURI.builder().withHost(seed.substring(0, colon))
                    .withPort(Integer.parseInt(seed.substring(colon + 1))).withSsl(tls)
                    .withTimeout(Duration.ofSeconds(10));
            if (password != null) {
                if (username != null) {
                    b.withAuthentication(username, password.toCharArray());
                } else {
                    b.withPassword(password.toCharArray());
                }
            }
            uris.add(b.build());
        }
        return uris;
    }

    private static int db(URI uri, String url) {
        String path = uri.getPath();
        if (path == null || path.length() <= 1) {
            return 0;
        }
        try {
            return Integer.parseInt(path.substring(1));
        } catch (NumberFormatException e) {
            throw new CeleriacException("bad database number in Redis URL " + url + ": '" + path.substring(1) + "'");
        }
    }

    /** {user or null, password or null} from a URL's raw user info. */
    private static @Nullable String[] credentials(@Nullable String info) {
        if (info == null || info.isEmpty()) {
            return new String[] {null, null};
        }
        int colon = info.indexOf(':');
        if (colon < 0) {
            return new String[] {null, decode(info)};
        }
        return new String[] {colon == 0 ? null : decode(info.substring(0, colon)), decode(info.substring(colon + 1))};
    }

    private static @Nullable String queryParameter(@Nullable String rawQuery, String name) {
        if (rawQuery == null) {
            return null;
        }
        for (String pair : rawQuery.split("&")) {
            int eq = pair.indexOf('=');
            if (eq > 0 && decode(pair.substring(0, eq)).equals(name)) {
                return decode(pair.substring(eq + 1));
            }
        }
        return null;
    }

    private static String redact(String url) {
        return url.replaceAll("//[^@/;]*@", "//***@");
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    /** Whether the master is found through sentinels. */
    public boolean isSentinel() {
        return !sentinels.isEmpty();
    }

    /**
     * The same URL with the master's name Celery's transport options give ({@code master_name}), unless the URL named
     * one itself.
     */
    public RedisUrl withMasterName(@Nullable String name) {
        if (!isSentinel() || masterName != null || name == null || name.isBlank()) {
            return this;
        }
        return new RedisUrl(host, port, db, username, password, tls, sentinels, name.trim(), clusterSeeds);
    }

    /**
     * The same URL with what Celery's transport options ({@code broker_transport_options} or
     * {@code result_backend_transport_options}) say about it: Sentinel's {@code master_name}.
     */
    public RedisUrl withTransportOptions(java.util.Map<String, Object> options) {
        Object name = options.get("master_name");
        return name == null ? this : withMasterName(name.toString());
    }

    /** Whether a URL is one of Redis's: a plain server, Sentinel or Cluster. */
    public static boolean isRedisUrl(String url) {
        return url.startsWith("redis://") || url.startsWith("rediss://") || url.startsWith("sentinel://")
                || url.startsWith("redis+sentinel://") || url.startsWith(CLUSTER) || url.startsWith(CLUSTER_TLS);
    }

    /** The same server, another database (a cluster has database 0 only). */
    public RedisUrl withDb(int otherDb) {
        if (isCluster() && otherDb != 0) {
            throw new CeleriacException("Redis Cluster has database 0 only, not " + otherDb + ": " + this);
        }
        return new RedisUrl(host, port, otherDb, username, password, tls, sentinels, masterName, clusterSeeds);
    }

    /** Whether both URLs reach the same server (any database): one Redis script can then write for both. */
    public boolean sameServerAs(RedisUrl other) {
        if (isCluster() || other.isCluster()) {
            return new java.util.HashSet<>(clusterSeeds).equals(new java.util.HashSet<>(other.clusterSeeds))
                    && tls == other.tls && Objects.equals(username, other.username)
                    && Objects.equals(password, other.password);
        }
        if (isSentinel() || other.isSentinel()) {
            return Objects.equals(masterName, other.masterName) && sentinels.equals(other.sentinels)
                    && Objects.equals(username, other.username) && Objects.equals(password, other.password);
        }
        return host.equalsIgnoreCase(other.host) && port == other.port && tls == other.tls
                && Objects.equals(username, other.username) && Objects.equals(password, other.password);
    }

    /**
     * The Lettuce URI (for this module's connections; Lettuce stays out of the public API); for a cluster, its first
     * seed (use {@link #clusterUris()}).
     */
    RedisURI toRedisUri() {
        RedisURI.Builder b;
        if (isSentinel()) {
            if (masterName == null) {
                throw new CeleriacException("the Sentinel URL " + this + " names no master: add ?master_name=<name>"
                        + " or set broker_transport_options = {'master_name': '<name>'} as in Celery");
            }
            String first = sentinels.get(0);
            int colon = first.lastIndexOf(':');
            b = RedisURI.Builder.sentinel(first.substring(0, colon), Integer.parseInt(first.substring(colon + 1)),
                    masterName);
            for (String s : sentinels.subList(1, sentinels.size())) {
                int c = s.lastIndexOf(':');
                b.withSentinel(s.substring(0, c), Integer.parseInt(s.substring(c + 1)));
            }
        } else {
            b = RedisURI.builder().withHost(host).withPort(port).withSsl(tls);
        }
        b.withDatabase(db).withTimeout(Duration.ofSeconds(10));
        if (password != null) {
            if (username != null) {
                b.withAuthentication(username, password.toCharArray());
            } else {
                b.withPassword(password.toCharArray());
            }
        }
        return b.build();
    }

    @Override
    public String toString() {
        String auth = password == null ? "" : "***@";
        if (isCluster()) {
            return (tls ? CLUSTER_TLS : CLUSTER) + auth + String.join(",", clusterSeeds);
        }
        if (isSentinel()) {
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < sentinels.size(); i++) {
                s.append(i == 0 ? "sentinel://" + auth : ";sentinel://").append(sentinels.get(i));
            }
            s.append('/').append(db);
            if (masterName != null) {
                s.append("?master_name=").append(masterName);
            }
            return s.toString();
        }
        return (tls ? "rediss://" : "redis://") + auth + host + ":" + port + "/" + db;
    }
}
