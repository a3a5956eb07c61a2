package io.celeriac.testing;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** The proxy in front of a line-based server on loopback, which answers when the test says. */
class CuttingProxyTest {

    /**
     * The first answer after the marked request may answer an earlier one: the connection stays up (nothing passed
     * back) until the server has been quiet, so the marked request is never cut off before the server runs it.
     */
    @Test
    void anEarlierAnswerDoesNotCutBeforeTheMarkedRequestsAnswer() throws Exception {
        try (ServerSocket upstream = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             CuttingProxy proxy = new CuttingProxy(upstream.getLocalPort());
             Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
             Socket server = upstream.accept()) {
            OutputStream toProxy = client.getOutputStream();
            BufferedReader atServer = lines(server.getInputStream());
            OutputStream fromServer = server.getOutputStream();

            toProxy.write("earlier\n".getBytes(StandardCharsets.UTF_8));
            assertThat(atServer.readLine()).isEqualTo("earlier");
            proxy.cutAfterRequestContaining("marked");
            toProxy.write("marked\n".getBytes(StandardCharsets.UTF_8));
            assertThat(atServer.readLine()).isEqualTo("marked");

            fromServer.write("answer to earlier\n".getBytes(StandardCharsets.UTF_8));
            fromServer.flush();
            // The old rule cut here, on the earlier answer.
            server.setSoTimeout(100);
            assertThat(stillOpen(server)).as("not cut on the earlier request's answer").isTrue();
            assertThat(proxy.hasCut()).isFalse();

            fromServer.write("answer to marked\n".getBytes(StandardCharsets.UTF_8));
            fromServer.flush();
            server.setSoTimeout(10_000);
            assertThat(server.getInputStream().read()).as("cut once the server was quiet").isEqualTo(-1);
            assertThat(proxy.hasCut()).isTrue();
            client.setSoTimeout(10_000);
            assertThat(client.getInputStream().readAllBytes()).as("no answer passed back after the marked request")
                    .isEmpty();
        }
    }

    @Test
    void connectionsOpenedAfterTheCutGoThrough() throws Exception {
        try (ServerSocket upstream = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
             CuttingProxy proxy = new CuttingProxy(upstream.getLocalPort())) {
            proxy.cutAfterRequestContaining("marked");
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
                 Socket server = upstream.accept()) {
                client.getOutputStream().write("marked\n".getBytes(StandardCharsets.UTF_8));
                assertThat(lines(server.getInputStream()).readLine()).isEqualTo("marked");
                server.getOutputStream().write("lost\n".getBytes(StandardCharsets.UTF_8));
                client.setSoTimeout(10_000);
                assertThat(client.getInputStream().readAllBytes()).isEmpty();
            }
            try (Socket client = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
                 Socket server = upstream.accept()) {
                client.getOutputStream().write("marked again\n".getBytes(StandardCharsets.UTF_8));
                assertThat(lines(server.getInputStream()).readLine()).isEqualTo("marked again");
                server.getOutputStream().write("kept\n".getBytes(StandardCharsets.UTF_8));
                client.setSoTimeout(10_000);
                assertThat(lines(client.getInputStream()).readLine()).isEqualTo("kept");
            }
        }
    }

    private static BufferedReader lines(InputStream in) {
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    private static boolean stillOpen(Socket s) throws Exception {
        try {
            return s.getInputStream().read() != -1;
        } catch (SocketTimeoutException e) {
            return true;
        }
    }
}
