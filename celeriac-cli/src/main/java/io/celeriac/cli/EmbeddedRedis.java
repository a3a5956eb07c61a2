package io.celeriac.cli;

import redis.embedded.RedisServer;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;

/** A throw-away redis-server (the binary ships inside the jar) on a free loopback port, for the demo. */
final class EmbeddedRedis implements AutoCloseable {
    private final RedisServer server;
    private final int port;

    private EmbeddedRedis(RedisServer server, int port) {
        this.server = server;
        this.port = port;
    }

    static EmbeddedRedis start() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        RedisServer server = RedisServer.newRedisServer().port(port).bind("127.0.0.1")
                .setting("save \"\"").setting("appendonly no").build();
        server.start();
        return new EmbeddedRedis(server, port);
    }

    String url(int db) {
        return "redis://127.0.0.1:" + port + "/" + db;
    }

    @Override
    public void close() throws IOException {
        server.stop();
    }
}
