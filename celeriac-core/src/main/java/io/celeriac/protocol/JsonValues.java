package io.celeriac.protocol;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Helpers for JSON-shaped Java values (null, Boolean, Number, String, List, Map). Copies keep insertion order and
 * allow null values, which {@code Map.copyOf} does not: Celery sends {@code "shadow": null} and we keep it.
 */
public final class JsonValues {
    private JsonValues() {
    }

    public static Map<String, Object> immutableMap(Map<String, ?> source) {
        if (source == null || source.isEmpty()) {
            return Collections.emptyMap();
        }
        Map<String, Object> copy = new LinkedHashMap<>(source.size() * 2);
        source.forEach((k, v) -> copy.put(k, deepCopy(v)));
        return Collections.unmodifiableMap(copy);
    }

    public static List<Object> immutableList(List<?> source) {
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
    private static Object deepCopy(Object v) {
        if (v instanceof Map<?, ?> m) {
            return immutableMap((Map<String, ?>) m);
        }
        if (v instanceof List<?> l) {
            return immutableList(l);
        }
        return v;
    }
}
