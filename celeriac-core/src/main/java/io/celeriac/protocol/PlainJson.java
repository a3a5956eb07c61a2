package io.celeriac.protocol;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Reads and writes plain JSON values (null, Boolean, Number, String, List, Map) straight on Jackson's streaming
 * parser and generator. Every message, envelope and result on the hot path is made of nothing else, and going through
 * ObjectMapper's serializer lookup and untyped deserializer for them was most of the codec's time. The values are the
 * ones ObjectMapper gives and takes for the same text: LinkedHashMap and ArrayList, Integer, Long or BigInteger for
 * integers by size, Double for fractions; any other value is written by the mapper, so its configuration still applies.
 * Nesting is bounded by the parser's own limit (Jackson's {@code StreamReadConstraints}).
 */
final class PlainJson {
    private PlainJson() {
    }

    /** The value whose first token {@code t} the parser has just read; leaves the parser on its last token. */
    static @Nullable Object read(JsonParser p, JsonToken t) throws IOException {
        switch (t) {
            case START_OBJECT: {
                Map<String, Object> map = new LinkedHashMap<>();
                for (String name = p.nextFieldName(); name != null; name = p.nextFieldName()) {
                    map.put(name, read(p, p.nextToken()));
                }
                return map;
            }
            case START_ARRAY: {
                List<Object> list = new ArrayList<>();
                for (JsonToken next = p.nextToken(); next != JsonToken.END_ARRAY; next = p.nextToken()) {
                    list.add(read(p, next));
                }
                return list;
            }
            case VALUE_STRING:
                return p.getText();
            case VALUE_NUMBER_INT:
            case VALUE_NUMBER_FLOAT:
                return p.getNumberValue();
            case VALUE_TRUE:
                return Boolean.TRUE;
            case VALUE_FALSE:
                return Boolean.FALSE;
            case VALUE_NULL:
                return null;
            case VALUE_EMBEDDED_OBJECT:
                return p.getEmbeddedObject();
            default:
                throw new IOException("unexpected JSON token " + t);
        }
    }

    /** Writes {@code v}; what is not a plain value (a record, a date) goes to {@code mapper}. */
    static void write(JsonGenerator g, @Nullable Object v, ObjectMapper mapper) throws IOException {
        if (v == null) {
            g.writeNull();
        } else if (v instanceof String s) {
            g.writeString(s);
        } else if (v instanceof Map<?, ?> m) {
            g.writeStartObject();
            for (Map.Entry<?, ?> e : m.entrySet()) {
                g.writeFieldName(key(e.getKey()));
                write(g, e.getValue(), mapper);
            }
            g.writeEndObject();
        } else if (v instanceof List<?> l) {
            g.writeStartArray();
            for (Object item : l) {
                write(g, item, mapper);
            }
            g.writeEndArray();
        } else if (v instanceof Integer i) {
            g.writeNumber(i);
        } else if (v instanceof Long l) {
            g.writeNumber(l);
        } else if (v instanceof Boolean b) {
            g.writeBoolean(b);
        } else if (v instanceof Double d) {
            g.writeNumber(d);
        } else if (v instanceof BigInteger b) {
            g.writeNumber(b);
        } else if (v instanceof BigDecimal b) {
            g.writeNumber(b);
        } else {
            mapper.writeValue(g, v);
        }
    }

    /**
     * A map key as Jackson's default key serializers write it for the types a JSON-shaped map can have: strings as
     * they are, enums by name, numbers, booleans, characters and UUIDs as text. Other key types (dates, objects) have
     * no one JSON spelling: refused rather than written one way here and another there. (Checking every map's keys
     * before writing it, to leave such maps to the mapper, cost a tenth of a send.)
     */
    private static String key(@Nullable Object k) {
        if (k instanceof String s) {
            return s;
        }
        if (k instanceof Enum<?> e) {
            return e.name();
        }
        if (k instanceof Number || k instanceof Boolean || k instanceof Character || k instanceof java.util.UUID) {
            return k.toString();
        }
        throw new IllegalArgumentException("a map key of type " + (k == null ? "null" : k.getClass().getName())
                + " has no JSON form; use String keys");
    }
}
