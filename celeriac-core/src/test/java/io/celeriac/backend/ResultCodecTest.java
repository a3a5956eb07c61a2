package io.celeriac.backend;

import io.celeriac.protocol.CeleryVectors;
import io.celeriac.protocol.MessageCodec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ResultCodecTest {
    private final MessageCodec json = new MessageCodec();
    private final ResultCodec codec = new ResultCodec(json);

    @ParameterizedTest
    @ValueSource(strings = {"results/result.success.json", "results/result.failure.json",
            "results/result.retried_success.json"})
    void celerysDocumentsRoundTripWithTheSameKeysInTheSameOrder(String vector) {
        String raw = CeleryVectors.read(vector);
        String again = codec.encode(codec.decode(raw));
        Map<String, Object> a = json.readJsonObject(raw);
        Map<String, Object> b = json.readJsonObject(again);
        assertThat(b).isEqualTo(a);
        assertThat(List.copyOf(b.keySet())).isEqualTo(List.copyOf(a.keySet()));
    }

    @Test
    void failureExposesTypeAndMessage() {
        ResultDocument d = codec.decode(CeleryVectors.read("results/result.failure.json"));
        assertThat(d.status()).isEqualTo("FAILURE");
        assertThat(d.excType()).isEqualTo("ValueError");
        assertThat(d.excMessage()).isEqualTo("boom-42");
        assertThat(d.traceback()).contains("ValueError: boom-42");
        assertThat(d.dateDone()).isEqualTo(Instant.parse("2026-11-24T14:53:03.039561Z"));
    }

    @Test
    void retriedSuccessKeepsParentId() {
        ResultDocument d = codec.decode(CeleryVectors.read("results/result.retried_success.json"));
        assertThat(d.result()).isEqualTo(7);
        assertThat(d.parentId()).isEqualTo("d7f90393-587f-4b1f-a319-485f6a980ea5");
    }

    @Test
    void exceptionResultIsCelerysShape() {
        assertThat(ResultCodec.exceptionResult("KeyError", "builtins", "k"))
                .containsExactly(Map.entry("exc_type", "KeyError"), Map.entry("exc_message", List.of("k")),
                        Map.entry("exc_module", "builtins"));
    }
}
