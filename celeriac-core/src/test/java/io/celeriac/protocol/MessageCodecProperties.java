package io.celeriac.protocol;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.math.BigInteger;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class MessageCodecProperties {
    private final MessageCodec codec = new MessageCodec();

    @Property(tries = 300)
    void anyMessageSurvivesEncodeDecode(@ForAll("messages") TaskMessage m) {
        TaskMessage back = codec.decode(codec.encode(m));
        assertThat(back).isEqualTo(m);
        assertThat(codec.decode(codec.encode(back))).isEqualTo(m);
    }

    @Property(tries = 300)
    void anyMessageSurvivesKombusEnvelope(@ForAll("messages") TaskMessage m) {
        KombuEnvelope kombu = new KombuEnvelope(codec);
        BrokerMessage encoded = codec.encode(m);
        // Headers and properties as JSON values: encode writes a whole time limit as a Long, JSON reads an Integer.
        BrokerMessage asJson = new BrokerMessage(encoded.body(), encoded.contentType(), encoded.contentEncoding(),
                codec.readJsonObject(codec.writeJson(encoded.headers())),
                codec.readJsonObject(codec.writeJson(encoded.properties())));
        assertThat(kombu.decode(kombu.encode(encoded))).isEqualTo(asJson);
        assertThat(codec.decode(kombu.decode(kombu.encode(encoded)))).isEqualTo(m);
    }

    /**
     * The codec reads and writes JSON values on the streaming parser and generator: the text and the values are
     * exactly what ObjectMapper writes and reads (same number types, same escapes, same order).
     */
    @Property(tries = 500)
    void jsonValuesAreWrittenAndReadAsObjectMapperDoes(@ForAll("jsonValues") Object value) throws Exception {
        com.fasterxml.jackson.databind.ObjectMapper mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        Object container = List.of(value == null ? "null" : value, Map.of("k", value == null ? "v" : value));
        String text = mapper.writeValueAsString(container);
        assertThat(codec.writeJson(container)).isEqualTo(text);
        Object read = codec.readJson(text);
        assertThat(read).isEqualTo(mapper.readValue(text, Object.class));
        assertThat(codec.writeJson(read)).isEqualTo(text);
    }

    @Property(tries = 300)
    void pythonReprNeverFails(@ForAll("jsonValues") Object value) {
        assertThat(PythonRepr.value(value)).isNotNull();
    }

    @Provide
    Arbitrary<Object> jsonValues() {
        return jsonValue(3);
    }

    private Arbitrary<Object> jsonValue(int depth) {
        Arbitrary<Object> leaf = Arbitraries.oneOf(
                Arbitraries.just(null),
                Arbitraries.of(true, false),
                Arbitraries.integers(),
                Arbitraries.longs().filter(l -> l > Integer.MAX_VALUE || l < Integer.MIN_VALUE),
                Arbitraries.bigIntegers().between(BigInteger.valueOf(Long.MAX_VALUE).add(BigInteger.ONE),
                        BigInteger.TEN.pow(30)),
                Arbitraries.doubles().between(-1e20, 1e20),
                Arbitraries.strings().ofMaxLength(12),
                Arbitraries.strings().withCharRange('\u00a0', '\u2fff').ofMaxLength(6));
        if (depth == 0) {
            return leaf;
        }
        Arbitrary<Object> list = jsonValue(depth - 1).list().ofMaxSize(4).map(l -> (Object) l);
        Arbitrary<Object> map = Arbitraries.maps(Arbitraries.strings().alpha().ofMaxLength(6), jsonValue(depth - 1))
                .ofMaxSize(4).map(m -> (Object) m);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, leaf), net.jqwik.api.Tuple.of(1, list), net.jqwik.api.Tuple.of(1, map));
    }

    @Provide
    Arbitrary<TaskMessage> messages() {
        Arbitrary<String> ids = Arbitraries.strings().ofMinLength(1).ofMaxLength(40);
        Arbitrary<String> names = Arbitraries.strings().withCharRange('a', 'z').withChars('.', '_', 'é')
                .ofMinLength(1).ofMaxLength(30);
        Arbitrary<List<Object>> args = jsonValue(2).list().ofMaxSize(5);
        Arbitrary<Map<String, Object>> kwargs = Arbitraries.maps(Arbitraries.strings().alpha().ofMinLength(1)
                .ofMaxLength(8), jsonValue(2)).ofMaxSize(4);
        // Microsecond precision: what Python's isoformat carries.
        Arbitrary<Instant> times = Arbitraries.longs().between(0, 4_102_444_800_000_000L)
                .map(us -> Instant.ofEpochSecond(us / 1_000_000, (us % 1_000_000) * 1000)).injectNull(0.3);
        Arbitrary<Double> limits = Arbitraries.of(1.0, 2.5, 60.0, 300.0, 0.25).injectNull(0.5);
        return Combinators.combine(ids, names, args, kwargs, times, times, Arbitraries.integers().between(0, 9),
                        Arbitraries.integers().between(0, 50))
                .as((id, name, a, kw, eta, exp, priority, retries) -> TaskMessage.builder(name, id)
                        .args(a).kwargs(kw).eta(eta).expires(exp).priority(priority).retries(retries)
                        .argsRepr(PythonRepr.args(a)).kwargsRepr(PythonRepr.kwargs(kw))
                        .rootId(id).routingKey("q-" + priority).deliveryTag("tag-" + id.hashCode())
                        .extraHeaders(Map.of("x-extra", name))
                        .build())
                .flatMap(m -> limits.map(l -> m.toBuilder().timeLimit(l)
                        .softTimeLimit(l == null ? null : l / 2).build()));
    }
}
