package io.celeriac.protocol;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link PythonLiteral} reads back every value {@link PythonRepr} writes. */
class PythonLiteralProperties {

    @Property(tries = 500)
    void readsBackWhatReprWrites(@ForAll("values") Object value) {
        String repr = PythonRepr.value(value);
        Object back = PythonLiteral.parse(repr);
        assertThat(PythonRepr.value(back)).isEqualTo(repr);
    }

    @Property(tries = 300)
    void stringsSurviveExactly(@ForAll String s) {
        assertThat(PythonLiteral.parse(PythonRepr.value(s))).isEqualTo(s);
    }

    @Property(tries = 200)
    void argumentTuplesBecomeLists(@ForAll("lists") List<Object> args) {
        assertThat(PythonRepr.args(PythonLiteral.parseArgs(PythonRepr.args(args)))).isEqualTo(PythonRepr.args(args));
    }

    @Provide
    Arbitrary<Object> values() {
        return Arbitraries.lazyOf(this::scalars, () -> lists().map(l -> (Object) l),
                () -> Arbitraries.maps(Arbitraries.strings().ofMaxLength(5), scalars()).ofMaxSize(4)
                        .map(m -> (Object) m));
    }

    @Provide
    Arbitrary<List<Object>> lists() {
        return scalars().list().ofMaxSize(5);
    }

    private Arbitrary<Object> scalars() {
        return Arbitraries.oneOf(Arbitraries.just(null), Arbitraries.of(true, false).map(b -> (Object) b),
                Arbitraries.integers().map(n -> (Object) n), Arbitraries.longs().map(n -> (Object) n),
                Arbitraries.doubles().map(d -> (Object) d), Arbitraries.strings().ofMaxLength(12).map(s -> (Object) s));
    }
}
