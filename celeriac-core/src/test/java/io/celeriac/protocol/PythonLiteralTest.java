package io.celeriac.protocol;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class PythonLiteralTest {
    @Test
    void readsWhatPythonCeleryWrites() {
        assertThat(PythonLiteral.parseArgs("(2, 'x', None, True, [1.5, {'k': \"it's\"}])"))
                .containsExactly(2, "x", null, true, List.of(1.5, Map.of("k", "it's")));
        assertThat(PythonLiteral.parseArgs("(1,)")).containsExactly(1);
        assertThat(PythonLiteral.parseArgs("()")).isEmpty();
        assertThat(PythonLiteral.parseKwargs("{'to': 'a@b.c', 'n': -3}")).containsEntry("to", "a@b.c")
                .containsEntry("n", -3);
        assertThatThrownBy(() -> PythonLiteral.parse("<object at 0x7f>"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unexpected character");
    }
}
