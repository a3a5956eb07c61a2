package io.celeriac.broker;

import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.time.Duration;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class ReconnectBackoffTest {

    @Test
    void waitsDoubleFromOneSecondUpToFive() {
        assertThat(IntStream.range(0, 6).mapToObj(ReconnectBackoff::delay).map(Duration::toSeconds))
                .containsExactly(1L, 2L, 4L, 5L, 5L, 5L);
        assertThat(ReconnectBackoff.delay(1000)).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void theReasonIsTheInnermostMessageWithWhatItsWrapperAddsToItsEnd() {
        // As Lettuce and Netty nest a refused connection.
        Exception refused = new ConnectException("Connection refused");
        Exception annotated = new ConnectException("Connection refused: /127.0.0.1:6379");
        annotated.initCause(refused);
        Exception lettuce = new RuntimeException("Unable to connect to 127.0.0.1/<unresolved>:6379", annotated);
        Exception ours = new BrokerUnavailableException("Cannot connect to the Redis broker at redis://...", lettuce);
        assertThat(ReconnectBackoff.reason(ours)).isEqualTo("Connection refused: /127.0.0.1:6379");
        assertThat(ReconnectBackoff.reason(new IllegalStateException())).isEqualTo("IllegalStateException");
    }

    @Test
    void nettysNativeTransportSaysTheSameReasonAsTheJdksSockets() {
        // As epoll reports a refused connection: the system call first.
        Exception refused = new ConnectException("finishConnect(..) failed with error(-111): Connection refused");
        Exception annotated = new ConnectException(
                "finishConnect(..) failed with error(-111): Connection refused: /127.0.0.1:6379");
        annotated.initCause(refused);
        Exception ours = new BrokerUnavailableException("Cannot connect to the Redis broker at redis://...",
                new RuntimeException("Unable to connect to 127.0.0.1/<unresolved>:6379", annotated));
        assertThat(ReconnectBackoff.reason(ours)).isEqualTo("Connection refused: /127.0.0.1:6379");
    }

    @Test
    void passwordsStayOutOfTheLog() {
        assertThat(ReconnectBackoff.redact("redis://:s3cret@redis:6379/0")).isEqualTo("redis://***@redis:6379/0");
        assertThat(ReconnectBackoff.redact("redis://user:s3cret@redis/0")).isEqualTo("redis://***@redis/0");
        assertThat(ReconnectBackoff.redact("redis://redis:6379/0")).isEqualTo("redis://redis:6379/0");
    }
}
