package io.celeriac.protocol;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.math.BigDecimal;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link PythonRepr#floatRepr} formats doubles as Python's {@code repr(float)} does. The reference here is the plain
 * BigDecimal formulation of Python's rules (fixed notation for decimal exponents -4..15, else {@code 1e+16} style,
 * digits from {@link Double#toString}); the production method rewrites {@code Double.toString}'s output without
 * BigDecimal, for speed, and must agree with it everywhere.
 */
class FloatReprProperties {

    @Property(tries = 20_000)
    void agreesWithTheReferenceAcrossEveryMagnitude(@ForAll("doubles") double d) {
        assertThat(PythonRepr.floatRepr(d)).isEqualTo(reference(d));
    }

    @Property(tries = 2_000)
    void readsBackAsTheSameDouble(@ForAll("doubles") double d) {
        assertThat(Double.parseDouble(PythonRepr.floatRepr(d))).isEqualTo(d);
    }

    @Provide
    Arbitrary<Double> doubles() {
        // Any bit pattern (every exponent, subnormals), values around the notation's edges, and epoch timestamps.
        Arbitrary<Double> anyBits = Arbitraries.longs().map(Double::longBitsToDouble)
                .filter(d -> !Double.isNaN(d) && !Double.isInfinite(d));
        Arbitrary<Double> edges = Arbitraries.integers().between(-7, 19).flatMap(exp ->
                Arbitraries.doubles().between(1, 10).map(m -> m * Math.pow(10, exp)));
        Arbitrary<Double> round = Arbitraries.integers().between(-6, 18).map(exp -> Math.pow(10, exp));
        Arbitrary<Double> timestamps = Arbitraries.doubles().between(1.6e9, 1.9e9);
        return Arbitraries.oneOf(anyBits, edges, round, timestamps,
                Arbitraries.doubles().between(-1e6, 1e6), Arbitraries.of(5e-324, Double.MAX_VALUE, -1e-5, 1e16));
    }

    private static String reference(double d) {
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
        String digits = bd.unscaledValue().toString();
        int exp = digits.length() - 1 - bd.scale();
        String sign = d < 0 ? "-" : "";
        if (exp >= -4 && exp < 16) {
            String plain = bd.toPlainString();
            return sign + (plain.contains(".") ? plain : plain + ".0");
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }
}
