package io.celeriac.redis;

import io.celeriac.CeleriacException;
import io.lettuce.core.RedisURI;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * A Redis URL as Celery writes them: {@code redis://[[user]:password@]host[:port][/db]}, {@code rediss://} for TLS.
 * {@code redis+sentinel://} is understood and refused until Sentinel support lands.
 */
public record RedisUrl(String host, int port, int db, String username, String password, boolean tls) {

    public static RedisUrl parse(String url) {
        if (url.startsWith("redis+sentinel://") || url.startsWith("sentinel://")) {
            throw new CeleriacException("Redis Sentinel is not supported yet (" + url.replaceAll("://.*@", "://***@")
                    + "); use redis://host:port/db pointing at the current master");
        }
        boolean tls = url.startsWith("rediss://");
        if (!tls && !url.startsWith("redis://")) {
            throw new CeleriacException("not a Redis URL: " + url + " (expected redis://host:port/db)");
        }
        URI uri = URI.create(url);
        String host = uri.getHost() == null || uri.getHost().isEmpty() ? "localhost" : uri.getHost();
        int port = uri.getPort() < 0 ? 6379 : uri.getPort();
        int db = 0;
        String path = uri.getPath();
        if (path != null && path.length() > 1) {
            try {
                db = Integer.parseInt(path.substring(1));
            } catch (NumberFormatException e) {
                throw new CeleriacException("bad database number in Redis URL " + url + ": '" + path.substring(1) + "'");
            }
        }
        String user = null;
        String password = null;
        String info = uri.getRawUserInfo();
        if (info != null && !info.isEmpty()) {
            int colon = info.indexOf(':');
            if (colon < 0) {
                password = decode(info);
            } else {
                user = colon == 0 ? null : decode(info.substring(0, colon));
                password = decode(info.substring(colon + 1));
            }
        }
        return new RedisUrl(host, port, db, user, password, tls);
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    /** The same server, another database. */
    public RedisUrl withDb(int otherDb) {
        return new RedisUrl(host, port, otherDb, username, password, tls);
    }

    /** The Lettuce URI (for Celeriac modules that open their own Redis connection). */
    public RedisURI toRedisUri() {
        RedisURI.Builder b = RedisURI.builder().withHost(host).withPort(port).withDatabase(db).withSsl(tls)
                .withTimeout(Duration.ofSeconds(10));
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
        return (tls ? "rediss://" : "redis://") + (password == null ? "" : "***@") + host + ":" + port + "/" + db;
    }
}
