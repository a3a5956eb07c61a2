package io.celeriac.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every captured Celery message decodes, re-encodes with every header Celery requires, and decodes equal; in kombu's
 * envelope it is written back as Celery wrote it.
 */
class MessageCodecVectorsTest {
    private final MessageCodec codec = new MessageCodec();
    private final KombuEnvelope kombu = new KombuEnvelope(codec);

    static List<String> vectors() {
        return CeleryVectors.sendMessages();
    }

    @Test
    void thereAreVectors() {
        assertThat(vectors()).hasSize(20);
    }

    @ParameterizedTest
    @MethodSource("vectors")
    @SuppressWarnings("unchecked")
    void roundTrips(String vector) {
        String raw = CeleryVectors.read(vector);
        BrokerMessage received = kombu.decode(raw);
        TaskMessage decoded = codec.decode(received);
        BrokerMessage reencoded = codec.encode(decoded);
        assertThat(codec.decode(reencoded)).isEqualTo(decoded);

        assertThat(reencoded.headers().keySet())
                .containsAll(MessageCodec.TASK_HEADERS)
                .containsExactlyElementsOf(received.headers().keySet());
        // As JSON values: encode writes a whole time limit as a Long, JSON reads it back as an Integer.
        assertThat(asJson(reencoded.headers())).isEqualTo(received.headers());
        assertThat(asJson(reencoded.properties())).isEqualTo(received.properties());
        assertThat(reencoded.contentType()).isEqualTo(received.contentType()).isEqualTo("application/json");
        assertThat(reencoded.contentEncoding()).isEqualTo(received.contentEncoding()).isEqualTo("utf-8");
        // Same body JSON value (Python's separators differ from ours, the value does not).
        assertThat(codec.readJson(reencoded.bodyText())).isEqualTo(codec.readJson(received.bodyText()));

        // In kombu's envelope again: the same headers and properties (body_encoding included) as Celery wrote.
        Map<String, Object> env = codec.readJsonObject(kombu.encode(reencoded));
        Map<String, Object> original = codec.readJsonObject(raw);
        assertThat(env.keySet()).containsExactlyInAnyOrderElementsOf(original.keySet());
        assertThat((Map<String, Object>) env.get("headers")).isEqualTo(original.get("headers"));
        assertThat((Map<String, Object>) env.get("properties")).isEqualTo(original.get("properties"));
        assertThat(env.get("content-type")).isEqualTo(original.get("content-type"));
        assertThat(env.get("content-encoding")).isEqualTo(original.get("content-encoding"));
        assertThat(codec.decode(kombu.decode(kombu.encode(reencoded)))).isEqualTo(decoded);
    }

    /** A map as it reads back from JSON. */
    private Map<String, Object> asJson(Map<String, Object> values) {
        return codec.readJsonObject(codec.writeJson(values));
    }

    private TaskMessage vector(String name) {
        return codec.decode(kombu.decode(CeleryVectors.read(name)));
    }

    @Test
    void fieldsOfParticularVectors() {
        TaskMessage add = vector("send/delay_add_2_3.celery.0.json");
        assertThat(add.task()).isEqualTo("vtasks.add");
        assertThat(add.args()).containsExactly(2, 3);
        assertThat(add.lang()).isEqualTo("py");
        assertThat(add.rootId()).isEqualTo(add.id());
        assertThat(add.routingKey()).isEqualTo("celery");
        assertThat(add.argsRepr()).isEqualTo("(2, 3)");

        assertThat(vector("send/countdown_30.celery.0.json").eta()).isNotNull();
        assertThat(vector("send/eta.celery.0.json").eta()).isEqualTo(Instant.parse("2030-01-02T03:04:05Z"));
        assertThat(vector("send/expires_60.celery.0.json").expires()).isNotNull();
        assertThat(vector("send/kwargs.celery.0.json").kwargs()).isEqualTo(Map.of("x", 1, "y", 2));
        assertThat(vector("send/queue_email.email.0.json").routingKey()).isEqualTo("email");
        assertThat(vector("send/priority_5.celery.pri3.0.json").priority()).isEqualTo(5);
        assertThat(vector("send/priority_9.celery.pri9.0.json").priority()).isEqualTo(9);
        assertThat(vector("send/custom_id.celery.0.json").id()).isEqualTo("order-42-send_invoice");
        TaskMessage limits = vector("send/time_limits.celery.0.json");
        assertThat(limits.timeLimit()).isEqualTo(60.0);
        assertThat(limits.softTimeLimit()).isEqualTo(50.0);
        TaskMessage byName = vector("send/send_task_by_name.email.0.json");
        assertThat(byName.task()).isEqualTo("orders.send_invoice_email");
        assertThat(byName.args()).containsExactly(42);

        TaskMessage chain = vector("send/chain.celery.0.json");
        assertThat(chain.chain()).hasSize(2);
        // The chain travels reversed: the next step is the last element.
        assertThat((Map<String, Object>) chain.chain().get(1)).containsEntry("args", List.of(3));

        TaskMessage chord = vector("send/chord.celery.0.json");
        assertThat(chord.group()).isNotNull();
        assertThat(chord.groupIndex()).isNotNull();
        assertThat(chord.chord()).containsEntry("task", "vtasks.tsum");

        TaskMessage links = vector("send/link_and_link_error.celery.0.json");
        assertThat((Map<String, Object>) links.callbacks().get(0)).containsEntry("task", "vtasks.add");
        assertThat((Map<String, Object>) links.errbacks().get(0)).containsEntry("task", "vtasks.boom");
    }

    @Test
    void unicodeArgumentsSurvive() {
        TaskMessage m = vector("send/unicode_args.celery.0.json");
        TaskMessage again = codec.decode(codec.encode(m));
        assertThat(again.args()).isEqualTo(m.args());
        assertThat(m.args().toString()).matches(".*[^\\x00-\\x7f].*");
        assertThat(PythonRepr.args(m.args())).isEqualTo(m.argsRepr());
    }

    @Test
    void theUnackedEntryOfAnAcksLateWorkerDecodes() {
        Map<String, Object> unacked = codec.readJsonObject(CeleryVectors.read("unacked/unacked-while-running.json"));
        @SuppressWarnings("unchecked")
        Map<String, String> hash = (Map<String, String>) unacked.get("unacked");
        String value = hash.values().iterator().next();
        List<?> triple = (List<?>) codec.readJson(value);
        assertThat(triple).hasSize(3);
        TaskMessage m = codec.decode(kombu.decode(codec.writeJson(triple.get(0))));
        assertThat(m.task()).isEqualTo("vtasks.slow");
        assertThat(m.extraProperties()).containsEntry("acks_late", true);
        assertThat(codec.decode(codec.encode(m))).isEqualTo(m);
    }
}
