package io.celeriac.protocol;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reads back what {@link PythonRepr} (and Python's {@code repr()}) writes for JSON-like values: {@code None},
 * {@code True}/{@code False}, numbers, quoted strings, lists, tuples and dicts. Task events carry arguments only
 * in this form ({@code args='(1, 'a')'}), so the dashboard needs it to re-send a failed task, whichever worker —
 * Celeriac's or Python's — reported it. Anything else (an object's {@code <Foo at 0x...>} repr) is rejected.
 */
public final class PythonLiteral {
    private final String s;
    private int i;

    private PythonLiteral(String s) {
        this.s = s;
    }

    /** Parses one literal; tuples become lists. */
    public static @Nullable Object parse(String text) {
        PythonLiteral p = new PythonLiteral(text);
        p.ws();
        Object v = p.value();
        p.ws();
        if (p.i != text.length()) {
            throw p.error("unexpected text");
        }
        return v;
    }

    /** Parses a positional-arguments repr ({@code (1, 2)}, {@code (1,)}, {@code ()}, or a list) into a list. */
    public static List<Object> parseArgs(@Nullable String text) {
        if (text == null || text.isBlank()) {
            return List.of();
        }
        Object v = parse(text);
        if (v instanceof List<?> l) {
            return new ArrayList<>(l);
        }
        throw new IllegalArgumentException("not an argument tuple: " + text);
    }

    /** Parses a keyword-arguments repr ({@code {'x': 1}}) into a map with string keys. */
    public static Map<String, Object> parseKwargs(@Nullable String text) {
        if (text == null || text.isBlank()) {
            return Map.of();
        }
        Object v = parse(text);
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, val) -> out.put(String.valueOf(k), val));
            return out;
        }
        throw new IllegalArgumentException("not a keyword-argument dict: " + text);
    }

    private @Nullable Object value() {
        if (i >= s.length()) {
            throw error("unexpected end");
        }
        char c = s.charAt(i);
        switch (c) {
            case '\'', '"':
                return string();
            case '[':
                return sequence('[', ']');
            case '(':
                return sequence('(', ')');
            case '{':
                return dict();
            default:
                break;
        }
        if (s.startsWith("None", i)) {
            i += 4;
            return null;
        }
        if (s.startsWith("True", i)) {
            i += 4;
            return Boolean.TRUE;
        }
        if (s.startsWith("False", i)) {
            i += 5;
            return Boolean.FALSE;
        }
        return number();
    }

    private List<Object> sequence(char open, char close) {
        i++;
        List<Object> out = new ArrayList<>();
        ws();
        while (peek() != close) {
            out.add(value());
            ws();
            if (peek() == ',') {
                i++;
                ws();
            } else if (peek() != close) {
                throw error("expected ',' or '" + close + "'");
            }
        }
        i++;
        return out;
    }

    private Map<Object, Object> dict() {
        i++;
        Map<Object, Object> out = new LinkedHashMap<>();
        ws();
        while (peek() != '}') {
            Object k = value();
            ws();
            expect(':');
            ws();
            out.put(k, value());
            ws();
            if (peek() == ',') {
                i++;
                ws();
            } else if (peek() != '}') {
                throw error("expected ',' or '}'");
            }
        }
        i++;
        return out;
    }

    private String string() {
        char quote = s.charAt(i++);
        StringBuilder sb = new StringBuilder();
        while (true) {
            if (i >= s.length()) {
                throw error("unterminated string");
            }
            char c = s.charAt(i++);
            if (c == quote) {
                return sb.toString();
            }
            if (c != '\\') {
                sb.append(c);
                continue;
            }
            char e = s.charAt(i++);
            switch (e) {
                case 'n' -> sb.append('\n');
                case 'r' -> sb.append('\r');
                case 't' -> sb.append('\t');
                case '\\', '\'', '"' -> sb.append(e);
                case 'x' -> sb.append((char) hex(2));
                case 'u' -> sb.append((char) hex(4));
                case 'U' -> sb.appendCodePoint(hex(8));
                default -> throw error("unknown escape \\" + e);
            }
        }
    }

    private int hex(int n) {
        int v = Integer.parseInt(s.substring(i, i + n), 16);
        i += n;
        return v;
    }

    private Object number() {
        int start = i;
        while (i < s.length() && "+-0123456789.eEinfa".indexOf(s.charAt(i)) >= 0) {
            i++;
        }
        String t = s.substring(start, i);
        if (t.isEmpty()) {
            throw error("unexpected character '" + s.charAt(start) + "'");
        }
        switch (t) {
            case "inf":
                return Double.POSITIVE_INFINITY;
            case "-inf":
                return Double.NEGATIVE_INFINITY;
            case "nan":
                return Double.NaN;
            default:
                break;
        }
        try {
            if (t.contains(".") || t.contains("e") || t.contains("E")) {
                return Double.parseDouble(t);
            }
            BigInteger b = new BigInteger(t);
            return b.bitLength() < 32 ? (Object) b.intValue() : b.bitLength() < 64 ? (Object) b.longValue() : b;
        } catch (NumberFormatException e) {
            throw error("not a number: " + t);
        }
    }

    private char peek() {
        if (i >= s.length()) {
            throw error("unexpected end");
        }
        return s.charAt(i);
    }

    private void expect(char c) {
        if (peek() != c) {
            throw error("expected '" + c + "'");
        }
        i++;
    }

    private void ws() {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
    }

    private IllegalArgumentException error(String what) {
        return new IllegalArgumentException(what + " at " + i + " in " + (s.length() > 200 ? s.substring(0, 200)
                + "..." : s));
    }

}
