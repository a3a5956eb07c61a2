package io.celeriac.dashboard;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.javalin.http.Context;
import io.javalin.http.HttpStatus;
import org.jspecify.annotations.Nullable;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;

/** The JSON API's reading and writing, shared by the routes classes: request bodies, answers, errors. */
final class Json {
    private static final ObjectMapper MAPPER = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    private Json() {
    }

    /** The request's body as a JSON object; empty for an empty body. */
    static Map<String, Object> body(Context ctx) {
        String b = ctx.body();
        if (b == null || b.isBlank()) {
            return Map.of();
        }
        try {
            Object v = MAPPER.readValue(b, Object.class);
            if (v instanceof Map<?, ?> m) {
                @SuppressWarnings("unchecked")
                Map<String, Object> mm = (Map<String, Object>) m;
                return mm;
            }
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("body is not JSON: " + e.getOriginalMessage());
        }
        throw new IllegalArgumentException("body must be a JSON object");
    }

    static void send(Context ctx, Object value) {
        ctx.contentType("application/json").result(write(value));
    }

    static String write(Object value) {
        try {
            return MAPPER.writeValueAsString(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A value's properties as a JSON object would have them. */
    @SuppressWarnings("unchecked")
    static Map<String, Object> fields(Object value) {
        return MAPPER.convertValue(value, Map.class);
    }

    static void error(Context ctx, int status, @Nullable String message) {
        ctx.status(HttpStatus.forStatus(status));
        send(ctx, Map.of("error", message == null ? "error" : message));
    }

    /** {@code {"ok": true}}, or a 404 when the thing to change was not there. */
    static void found(Context ctx, boolean found) {
        if (found) {
            send(ctx, Map.of("ok", true));
        } else {
            error(ctx, 404, "not found");
        }
    }

    /** A body value as trimmed text; null when missing or blank. */
    static @Nullable String str(@Nullable Object v) {
        return v == null || String.valueOf(v).isBlank() ? null : String.valueOf(v).trim();
    }
}
