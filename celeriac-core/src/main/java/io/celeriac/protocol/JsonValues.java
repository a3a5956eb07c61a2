package io.celeriac.protocol;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * Helpers for JSON-shaped Java values (null, Boolean, Number, String, List, Map). Copies keep insertion order and
 * allow null values, which {@code Map.copyOf} does not: Celery sends {@code "shadow": null} and we keep it.
 */
public final class JsonValues {
    private JsonValues() {
    }

    public static Map<String, Object> immutableMap(@Nullable Map<String, ?> source) {
        if (source == null || source.isEmpty()) {
            return Collections.emptyMap();
        }
        Map<String, Object> copy = new LinkedHashMap<>(source.size() * 2);
        source.forEach((k, v) -> copy.put(k, deepCopy(v)));
        return Collections.unmodifiableMap(copy);
    }

    public static List<Object> immutableList(@Nullable List<?> source) {
        if (source == null || source.isEmpty()) {
            return Collections.emptyList();
        }
        List<Object> copy = new ArrayList<>(source.size());
        for (Object v : source) {
            copy.add(deepCopy(v));
        }
        return Collections.unmodifiableList(copy);
    }

    @SuppressWarnings("unchecked")
    private static @Nullable Object deepCopy(@Nullable Object v) {
        if (v instanceof Map<?, ?> m) {
            return immutableMap((Map<String, ?>) m);
        }
        if (v instanceof List<?> l) {
            return immutableList(l);
        }
        return v;
    }

    /**
     * A time as Celery writes it: ISO-8601 with an offset, or naive (taken as UTC, as older Celery versions write);
     * null for null. Anything else is refused, naming {@code what}.
     */
    public static @Nullable Instant instant(@Nullable Object v, String what) {
        if (v == null) {
            return null;
        }
        String s = v.toString();
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            try {
                return LocalDateTime.parse(s).toInstant(ZoneOffset.UTC);
            } catch (DateTimeParseException e2) {
                throw new MessageRejectedException("refused: '" + what + "' is not an ISO-8601 time: " + s);
            }
        }
    }
}
