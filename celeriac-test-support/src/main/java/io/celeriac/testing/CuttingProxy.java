package io.celeriac.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A TCP proxy on loopback in front of a redis-server that can lose an answer the way a crash or a network cut does:
 * once armed with a marker, the first request containing it reaches Redis (which runs it), and the connection it
 * came on is cut before the answer gets back. Connections opened afterwards go through as normal.
 *
 * <p>Nothing is passed back on that connection once the marked request has gone through, and it is cut only when
 * Redis has been silent on it for {@link #QUIET}: the first answer after the marked request may be the answer to an
 * earlier one (a background command on the same connection), and cutting there could reach Redis before it read the
 * marked request, which would then never run.
 */
public final class CuttingProxy implements AutoCloseable {
    private final ServerSocket server;
    private final int target;
    private final List<Socket> sockets = new CopyOnWriteArrayList<>();
    private final AtomicReference<byte[]> marker = new AtomicReference<>();
    private final AtomicBoolean cut = new AtomicBoolean();
    private volatile boolean closed;
    /** How long Redis must have sent nothing more on a doomed connection before it is cut. */
    static final int QUIET = 300;

    public CuttingProxy(int targetPort) throws IOException {
        this.target = targetPort;
        this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Thread t = new Thread(this::accept, "cutting-proxy");
        t.setDaemon(true);
        t.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The next request that contains {@code text} runs on Redis, and its answer is lost. */
    public void cutAfterRequestContaining(String text) {
        cut.set(false);
        marker.set(text.getBytes(StandardCharsets.UTF_8));
    }

    /** True once an armed cut has happened. */
    public boolean hasCut() {
        return cut.get();
    }

    private void accept() {
        while (!closed) {
            try {
                Socket client = server.accept();
                Socket upstream = new Socket(InetAddress.getLoopbackAddress(), target);
                sockets.add(client);
                sockets.add(upstream);
                AtomicBoolean doomed = new AtomicBoolean();
                pump(client, upstream, doomed, true);
                pump(upstream, client, doomed, false);
            } catch (IOException e) {
                return;
            }
        }
    }

    private void pump(Socket from, Socket to, AtomicBoolean doomed, boolean request) {
        Thread t = new Thread(() -> {
            byte[] buf = new byte[64 * 1024];
            try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    if (!request && doomed.get()) {
                        // The answer to the marked request, maybe behind earlier ones: drop all until Redis has had
                        // time to run it and said nothing more, then cut both sides.
                        drainUntilQuiet(from, in, buf);
                        cut.set(true);
                        from.close();
                        to.close();
                        return;
                    }
                    byte[] m = request ? marker.get() : null;
                    if (m != null && contains(buf, n, m) && marker.compareAndSet(m, null)) {
                        doomed.set(true);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                // either side gone: the other pump ends too
            } finally {
                closeQuietly(from);
                closeQuietly(to);
            }
        }, "cutting-proxy-pump");
        t.setDaemon(true);
        t.start();
    }

    private static void drainUntilQuiet(Socket from, InputStream in, byte[] buf) throws IOException {
        from.setSoTimeout(QUIET);
        try {
            while (in.read(buf) >= 0) {
                // dropped
            }
        } catch (SocketTimeoutException quiet) {
            // nothing more for QUIET ms
        }
    }

    private static boolean contains(byte[] buf, int n, byte[] m) {
        outer:
        for (int i = 0; i + m.length <= n; i++) {
            for (int j = 0; j < m.length; j++) {
                if (buf[i + j] != m[j]) {
                    continue outer;
                }
            }
            return true;
        }
        return false;
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        sockets.forEach(CuttingProxy::closeQuietly);
    }
}
