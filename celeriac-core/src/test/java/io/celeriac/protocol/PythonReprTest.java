package io.celeriac.protocol;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Expected strings were printed by Python 3.11's repr(). */
class PythonReprTest {
    @Test
    void tuplesOfArguments() {
        assertThat(PythonRepr.args(List.of(2, 3))).isEqualTo("(2, 3)");
        assertThat(PythonRepr.args(List.of(1))).isEqualTo("(1,)");
        assertThat(PythonRepr.args(List.of())).isEqualTo("()");
    }

    @Test
    void scalars() {
        assertThat(PythonRepr.value(null)).isEqualTo("None");
        assertThat(PythonRepr.value(true)).isEqualTo("True");
        assertThat(PythonRepr.value(1.0)).isEqualTo("1.0");
        assertThat(PythonRepr.value(0.1)).isEqualTo("0.1");
        assertThat(PythonRepr.value(1e-05)).isEqualTo("1e-05");
        assertThat(PythonRepr.value(0.0001)).isEqualTo("0.0001");
        assertThat(PythonRepr.value(1e16)).isEqualTo("1e+16");
        assertThat(PythonRepr.value(1234567890123456.0)).isEqualTo("1234567890123456.0");
        assertThat(PythonRepr.value(-2.5e-7)).isEqualTo("-2.5e-07");
        assertThat(PythonRepr.value(new java.math.BigInteger("123456789012345678901234567890")))
                .isEqualTo("123456789012345678901234567890");
    }

    @Test
    void stringsQuoteAndEscapeLikePython() {
        assertThat(PythonRepr.value("it's")).isEqualTo("\"it's\"");
        assertThat(PythonRepr.value("say \"hi\"")).isEqualTo("'say \"hi\"'");
        assertThat(PythonRepr.value("both ' and \"")).isEqualTo("'both \\' and \"'");
        assertThat(PythonRepr.value("a\nb\tc\\")).isEqualTo("'a\\nb\\tc\\\\'");
        assertThat(PythonRepr.value("\u0001")).isEqualTo("'\\x01'");
        assertThat(PythonRepr.value("héllo wörld ☃")).isEqualTo("'héllo wörld ☃'");
    }

    @Test
    void containers() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("x", 1);
        m.put("y", Arrays.asList("a", null, false));
        assertThat(PythonRepr.kwargs(m)).isEqualTo("{'x': 1, 'y': ['a', None, False]}");
        assertThat(PythonRepr.kwargs(Map.of())).isEqualTo("{}");
    }
}
