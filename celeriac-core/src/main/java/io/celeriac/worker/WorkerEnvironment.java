package io.celeriac.worker;

import io.celeriac.CeleriacConfig;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.canvas.CanvasPlanner;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.task.TaskRegistry;

import java.time.Clock;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * What a worker needs from its application: settings, the broker and backend, the codec, the clock, the tasks, the
 * interceptors, the process id, and how the app builds a task message (for the callbacks, chain steps and chord
 * bodies a worker sends). The app builds it ({@code Celeriac.worker()}), so the worker depends on these
 * pieces rather than on the whole app, and the app and worker packages do not depend on each other both ways.
 */
public record WorkerEnvironment(CeleriacConfig config, Broker broker, ResultBackend backend, MessageCodec codec,
                                Clock clock, TaskRegistry registry, List<TaskInterceptor> interceptors,
                                LongSupplier pid, CanvasPlanner.MessageFactory messages) {
    public WorkerEnvironment {
        interceptors = List.copyOf(interceptors);
    }
}
