package io.celeriac.opentelemetry;

import io.celeriac.HeaderProvider;
import io.celeriac.task.TaskRequest;
import io.celeriac.worker.TaskInterceptor;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;

import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * OpenTelemetry for Celeriac: the sender's trace context travels in the task's headers (W3C {@code traceparent},
 * through the configured propagators), and the worker runs each task in a CONSUMER span that continues it. So a span
 * begun in a web request continues in the worker.
 *
 * <pre>{@code
 * CeleriacTracing tracing = new CeleriacTracing(openTelemetry);
 * Celeriac app = Celeriac.builder().headerProvider(tracing.headers()).interceptor(tracing.interceptor())...
 * }</pre>
 */
public final class CeleriacTracing {
    private static final TextMapGetter<Map<String, Object>> GETTER = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(Map<String, Object> carrier) {
            return carrier.keySet();
        }

        @Override
        public @Nullable String get(@Nullable Map<String, Object> carrier, String key) {
            Object v = carrier == null ? null : carrier.get(key);
            return v == null ? null : v.toString();
        }
    };

    private final TextMapPropagator propagator;
    private final Tracer tracer;

    public CeleriacTracing(OpenTelemetry openTelemetry) {
        this.propagator = openTelemetry.getPropagators().getTextMapPropagator();
        this.tracer = openTelemetry.getTracer("io.celeriac");
    }

    /** Injects the sending thread's context into every message. */
    public HeaderProvider headers() {
        return task -> {
            Map<String, Object> headers = new LinkedHashMap<>();
            propagator.inject(Context.current(), headers, (carrier, key, value) -> carrier.put(key, value));
            return headers;
        };
    }

    /** Runs each task in a span whose parent is the sender's context. */
    public TaskInterceptor interceptor() {
        return (TaskRequest request, TaskInterceptor.Invocation next) -> {
            Context parent = propagator.extract(Context.root(), request.headers(), GETTER);
            Span span = tracer.spanBuilder(request.task() + " process").setParent(parent).setSpanKind(SpanKind.CONSUMER)
                    .setAttribute("messaging.system", "celery")
                    .setAttribute("messaging.operation", "process")
                    .setAttribute("messaging.destination.name", String.valueOf(request.queue()))
                    .setAttribute("messaging.message.id", request.id())
                    .setAttribute("celery.task.name", request.task())
                    .setAttribute("celery.task.retries", request.retries())
                    .startSpan();
            try (Scope ignored = span.makeCurrent()) {
                return next.proceed();
            } catch (Exception | Error e) {
                span.recordException(e);
                span.setStatus(StatusCode.ERROR, String.valueOf(e.getMessage()));
                throw e;
            } finally {
                span.end();
            }
        };
    }
}
