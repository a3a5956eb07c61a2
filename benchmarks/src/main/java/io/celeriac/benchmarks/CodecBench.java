package io.celeriac.benchmarks;

import io.celeriac.Celeriac;
import io.celeriac.CeleriacConfig;
import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.protocol.KombuEnvelope;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.SendOptions;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The codec on the hot path, per task: a typical task message (two arguments, Celery's protocol v2 headers, as
 * {@code app.applyAsync} builds it) encoded to the kombu envelope text the Redis broker stores, and that text decoded
 * back to a {@link TaskMessage}, as a worker does on receipt. Run with {@code benchmarks/codec.sh} (JMH with its GC
 * profiler, for allocated bytes per operation).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CodecBench {
    private Celeriac app;
    private MessageCodec codec;
    private KombuEnvelope envelope;
    private TaskMessage message;
    private String stored;

    @Setup(Level.Trial)
    public void setUp() {
        app = Celeriac.builder().config(CeleriacConfig.builder().hostname("bench@local").build())
                .broker(new InMemoryBroker()).resultBackend(new InMemoryResultBackend()).build();
        codec = app.codec();
        envelope = new KombuEnvelope(codec);
        message = app.buildMessage("orders.send_invoice_email", List.of(42, "order-42"), Map.of(),
                SendOptions.none());
        stored = envelope.encode(codec.encode(message));
        TaskMessage back = codec.decode(envelope.decode(stored));
        if (!back.id().equals(message.id()) || !back.args().equals(message.args())) {
            throw new IllegalStateException("the codec does not round-trip: " + back);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        app.close();
    }

    /** What a send costs in the codec: message to kombu envelope text. */
    @Benchmark
    public String encode() {
        return envelope.encode(codec.encode(message));
    }

    /** What a receipt costs in the codec: kombu envelope text to message. */
    @Benchmark
    public TaskMessage decode() {
        return codec.decode(envelope.decode(stored));
    }
}
