package io.celeriac.protocol;

import java.math.BigDecimal;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Python's {@code repr()} of JSON values, for the {@code argsrepr}/{@code kwargsrepr} headers, event fields and
 * log lines, so Celery tools (Flower, {@code celery events}) show our tasks as they show Python's.
 */
public final class PythonRepr {
    private PythonRepr() {
    }

    /** Positional arguments as a Python tuple: {@code (2, 3)}, {@code (1,)}, {@code ()}. */
    public static String args(@Nullable List<?> args) {
        if (args == null || args.isEmpty()) {
            return "()";
        }
        StringBuilder sb = new StringBuilder("(");
        for (int i = 0; i < args.size(); i++) {
            if (i > 0) {
                sb.append(", ");
            }
            append(sb, args.get(i));
        }
        if (args.size() == 1) {
            sb.append(',');
        }
        return sb.append(')').toString();
    }

    /** Keyword arguments as a Python dict: {@code {'x': 1}}. */
    public static String kwargs(@Nullable Map<String, ?> kwargs) {
        return value(kwargs == null ? Map.of() : kwargs);
    }

    public static String value(@Nullable Object v) {
        StringBuilder sb = new StringBuilder();
        append(sb, v);
        return sb.toString();
    }

    private static void append(StringBuilder sb, @Nullable Object v) {
        if (v == null) {
            sb.append("None");
        } else if (v instanceof Boolean b) {
            sb.append(b ? "True" : "False");
        } else if (v instanceof Double || v instanceof Float) {
            sb.append(floatRepr(((Number) v).doubleValue()));
        } else if (v instanceof BigDecimal d) {
            sb.append(floatRepr(d.doubleValue()));
        } else if (v instanceof Number n) {
            sb.append(n);
        } else if (v instanceof CharSequence s) {
            stringRepr(sb, s.toString());
        } else if (v instanceof Map<?, ?> m) {
            sb.append('{');
            Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
            while (it.hasNext()) {
                Map.Entry<?, ?> e = it.next();
                append(sb, e.getKey());
                sb.append(": ");
                append(sb, e.getValue());
                if (it.hasNext()) {
                    sb.append(", ");
                }
            }
            sb.append('}');
        } else if (v instanceof List<?> l) {
            sb.append('[');
            for (int i = 0; i < l.size(); i++) {
                if (i > 0) {
                    sb.append(", ");
                }
                append(sb, l.get(i));
            }
            sb.append(']');
        } else {
            stringRepr(sb, v.toString());
        }
    }

    /** Python's float repr: shortest round-trip digits, fixed notation for exponents -4..15, else 1e+16 style. */
    static String floatRepr(double d) {
        if (Double.isNaN(d)) {
            return "nan";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "inf" : "-inf";
        }
        if (d == 0) {
            return (1 / d < 0) ? "-0.0" : "0.0";
        }
        String sign = d < 0 ? "-" : "";
        // Double.toString gives round-trip digits (Python's shortest ones, but for rare doubles before JDK 19's fix of
        // JDK-4511638) as "123.45" between 1e-3 and 1e7, already Python's form, and as "1.2345E10" elsewhere, which
        // is rewritten here with string work only: through BigDecimal it was half the cost of a task event.
        String s = Double.toString(Math.abs(d));
        int e = s.indexOf('E');
        if (e < 0) {
            return sign + s;
        }
        // "d.dddE±x": one digit from 1 to 9 before the point
        StringBuilder digits = new StringBuilder(e).append(s, 0, 1).append(s, 2, e);
        int length = digits.length();
        while (length > 1 && digits.charAt(length - 1) == '0') {
            length--;
        }
        digits.setLength(length);
        int exp = Integer.parseInt(s, e + 1, s.length(), 10);
        int point = exp + 1; // digits before the decimal point
        if (exp >= -4 && exp < 16) {
            if (point <= 0) {
                return sign + "0." + "0".repeat(-point) + digits;
            }
            if (point >= length) {
                return sign + digits + "0".repeat(point - length) + ".0";
            }
            return sign + digits.substring(0, point) + "." + digits.substring(point);
        }
        String mantissa = length == 1 ? digits.toString() : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exp < 0 ? "-" : "+") + (Math.abs(exp) < 10 ? "0" : "") + Math.abs(exp);
    }

    private static void stringRepr(StringBuilder sb, String s) {
        char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
        sb.append(quote);
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            i += Character.charCount(cp);
            if (cp == quote || cp == '\\') {
                sb.append('\\').appendCodePoint(cp);
            } else if (cp == '\n') {
                sb.append("\\n");
            } else if (cp == '\r') {
                sb.append("\\r");
            } else if (cp == '\t') {
                sb.append("\\t");
            } else if (cp < 0x20 || cp == 0x7f) {
                sb.append(String.format("\\x%02x", cp));
            } else if (!isPrintable(cp)) {
                sb.append(cp <= 0xff ? String.format("\\x%02x", cp)
                        : cp <= 0xffff ? String.format("\\u%04x", cp) : String.format("\\U%08x", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        }
        sb.append(quote);
    }

    /** Close to Python's str.isprintable(): no control, format, separator (except space) or unassigned chars. */
    private static boolean isPrintable(int cp) {
        int type = Character.getType(cp);
        return cp == ' ' || !(type == Character.CONTROL || type == Character.FORMAT || type == Character.SURROGATE
                || type == Character.PRIVATE_USE || type == Character.UNASSIGNED
                || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                || type == Character.SPACE_SEPARATOR);
    }
}
