package io.celeriac.opentelemetry;

import io.celeriac.Celeriac;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.fixtures.TestTasks;
import io.celeriac.task.AsyncResult;
import io.celeriac.worker.Worker;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

class CeleriacTracingTest {
    @Test
    void aSpanBegunInTheWebRequestContinuesInTheWorker() {
        InMemorySpanExporter exporter = InMemorySpanExporter.create();
        OpenTelemetrySdk otel = OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter))
                        .build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
        CeleriacTracing tracing = new CeleriacTracing(otel);
        TestTasks.reset();
        try (InMemoryBroker broker = new InMemoryBroker()) {
            Celeriac app = Celeriac.builder().broker(broker).register(new TestTasks())
                    .headerProvider(tracing.headers()).interceptor(tracing.interceptor()).build();
            Worker worker = app.worker().start();

            Span web = otel.getTracer("test").spanBuilder("POST /orders").setSpanKind(SpanKind.SERVER).startSpan();
            AsyncResult ok;
            AsyncResult bad;
            try (Scope ignored = web.makeCurrent()) {
                ok = app.task("t.add").delay(1, 2);
                bad = app.task("t.boom").delay("traced");
            } finally {
                web.end();
            }
            ok.get(Duration.ofSeconds(10));
            catchThrowable(() -> bad.get(Duration.ofSeconds(10)));
            await().atMost(Duration.ofSeconds(5)).until(() -> exporter.getFinishedSpanItems().size() == 3);
            worker.shutdown(Duration.ofSeconds(5));

            List<SpanData> spans = exporter.getFinishedSpanItems();
            SpanData webSpan = spans.stream().filter(s -> s.getName().equals("POST /orders")).findFirst().orElseThrow();
            SpanData addSpan = spans.stream().filter(s -> s.getName().equals("t.add process")).findFirst().orElseThrow();
            SpanData boomSpan = spans.stream().filter(s -> s.getName().equals("t.boom process")).findFirst()
                    .orElseThrow();
            assertThat(addSpan.getTraceId()).isEqualTo(webSpan.getTraceId());
            assertThat(addSpan.getParentSpanId()).isEqualTo(webSpan.getSpanId());
            assertThat(addSpan.getKind()).isEqualTo(SpanKind.CONSUMER);
            assertThat(addSpan.getAttributes().asMap().toString()).contains(ok.id()).contains("t.add");
            assertThat(boomSpan.getParentSpanId()).isEqualTo(webSpan.getSpanId());
            assertThat(boomSpan.getStatus().getStatusCode()).isEqualTo(io.opentelemetry.api.trace.StatusCode.ERROR);
            assertThat(boomSpan.getEvents()).anySatisfy(e -> assertThat(e.getName()).isEqualTo("exception"));
        }
    }
}
