package io.celeriac.protocol;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.io.SegmentedStringWriter;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Type;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Celery's message protocol v2 as a {@link BrokerMessage}, and JSON values in general. The only class that knows how
 * messages look on the wire; thread-safe and meant to be shared.
 *
 * <p>Only {@code application/json} is ever decoded. Pickle and YAML are refused without looking at the body: both
 * can run code when deserialized. Polymorphic typing is never enabled, so no class name from the wire is loaded.
 * A task message larger than {@link #maxMessageBytes()} is refused before it is parsed, and a body that is not
 * valid UTF-8 is refused rather than read with replacement characters (the task would run with altered arguments).
 */
public final class MessageCodec {
    /**
     * The default largest message, 20 MiB ({@code celeriac_max_message_bytes}): about Jackson's default limit on one
     * string (20,000,000 characters), which the base64 body of every larger message would have hit anyway.
     */
    public static final long DEFAULT_MAX_MESSAGE_BYTES = 20L * 1024 * 1024;

    /** Headers Celery's producer writes for every task, in its order. */
    static final List<String> TASK_HEADERS = List.of("lang", "task", "id", "shadow", "eta", "expires", "group",
            "group_index", "retries", "timelimit", "root_id", "parent_id", "argsrepr", "kwargsrepr", "origin",
            "ignore_result");
    private static final Set<String> TASK_HEADER_NAMES = Set.copyOf(TASK_HEADERS);
    private static final Set<String> KNOWN_PROPERTIES = Set.of("correlation_id", "reply_to", "delivery_mode",
            "delivery_info", "priority", "body_encoding", "delivery_tag");
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {
    };

    private final ObjectMapper mapper;
    private final long maxMessageBytes;

    public MessageCodec() {
        this(DEFAULT_MAX_MESSAGE_BYTES);
    }

    /**
     * @param maxMessageBytes the largest task message {@link #decode} accepts; Jackson's limit on one string is set to
     *     match, so that a message within the limit is never refused by the parser
     */
    public MessageCodec(long maxMessageBytes) {
        if (maxMessageBytes < 1) {
            throw new IllegalArgumentException("maxMessageBytes < 1: " + maxMessageBytes);
        }
        this.maxMessageBytes = maxMessageBytes;
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxStringLength((int) Math.min(Integer.MAX_VALUE, maxMessageBytes))
                        .build())
                .build();
        this.mapper = JsonMapper.builder(factory)
                .addModule(new JavaTimeModule())
                .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS)
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
                .build();
    }

    /** The largest task message {@link #decode} accepts, in bytes of UTF-8. */
    public long maxMessageBytes() {
        return maxMessageBytes;
    }

    /** A codec like this one with another message size limit. */
    public MessageCodec withMaxMessageBytes(long max) {
        return max == maxMessageBytes ? this : new MessageCodec(max);
    }

    // ------------------------------------------------------------------ task messages

    /**
     * A task message as Celery's producer writes it: the protocol v2 headers, the JSON body
     * {@code [args, kwargs, embed]} and kombu's properties (with {@code delivery_info} and {@code delivery_tag} when
     * the message has them; a transport that assigns its own replaces them).
     */
    public BrokerMessage encode(TaskMessage m) {
        Map<String, Object> headers = new LinkedHashMap<>();
        headers.put("lang", m.lang());
        headers.put("task", m.task());
        headers.put("id", m.id());
        headers.put("shadow", m.shadow());
        headers.put("eta", isoformat(m.eta()));
        headers.put("expires", isoformat(m.expires()));
        headers.put("group", m.group());
        headers.put("group_index", m.groupIndex());
        headers.put("retries", m.retries());
        headers.put("timelimit", Arrays.asList(number(m.timeLimit()), number(m.softTimeLimit())));
        headers.put("root_id", m.rootId());
        headers.put("parent_id", m.parentId());
        headers.put("argsrepr", m.argsRepr() == null ? PythonRepr.args(m.args()) : m.argsRepr());
        headers.put("kwargsrepr", m.kwargsRepr() == null ? PythonRepr.kwargs(m.kwargs()) : m.kwargsRepr());
        headers.put("origin", m.origin());
        headers.put("ignore_result", m.ignoreResult());
        m.extraHeaders().forEach(headers::putIfAbsent);

        Map<String, Object> embed = new LinkedHashMap<>();
        embed.put("callbacks", m.callbacks());
        embed.put("errbacks", m.errbacks());
        embed.put("chain", m.chain());
        embed.put("chord", m.chord());
        String body = writeJson(Arrays.asList(m.args(), m.kwargs(), embed));

        Map<String, Object> properties = new LinkedHashMap<>();
        properties.put("correlation_id", m.correlationId());
        properties.put("reply_to", m.replyTo());
        properties.put("delivery_mode", m.deliveryMode());
        Map<String, Object> info = new LinkedHashMap<>();
        info.put("exchange", m.exchange());
        info.put("routing_key", m.routingKey());
        properties.put("delivery_info", info);
        properties.put("priority", m.priority());
        properties.put("delivery_tag", m.deliveryTag());
        m.extraProperties().forEach(properties::putIfAbsent);
        return BrokerMessage.json(body, headers, properties);
    }

    /**
     * Reads a task message. Refuses, with a one-line reason, anything that is not a JSON protocol v2 task message:
     * another content type, a body over {@link #maxMessageBytes()} (not parsed), a body that is not UTF-8.
     */
    public TaskMessage decode(BrokerMessage e) {
        long size = e.body().length;
        if (size > maxMessageBytes) {
            throw new MessageRejectedException("refused: message of " + size + " bytes exceeds the limit of "
                    + maxMessageBytes + " bytes (celeriac_max_message_bytes); it was not parsed");
        }
        requireJson(e.contentType());
        Map<String, Object> h = e.headers();
        Object bodyValue = readJson(strictUtf8(e.body()));
        if (!h.containsKey("task") || h.get("task") == null) {
            if (bodyValue instanceof Map<?, ?> m && m.containsKey("task")) {
                throw new MessageRejectedException("refused: Celery protocol v1 message (task name in the body, "
                        + "no 'task' header); protocol v1 is not supported, send with protocol 2");
            }
            throw new MessageRejectedException("refused: no 'task' header, not a Celery protocol v2 task message");
        }
        if (!(bodyValue instanceof List<?> body) || body.size() != 3 || !(body.get(0) instanceof List<?>)
                || !(body.get(1) instanceof Map<?, ?>) || !(body.get(2) == null || body.get(2) instanceof Map<?, ?>)) {
            throw new MessageRejectedException("refused: body is not [args, kwargs, embed] as protocol v2 requires");
        }
        String id = string(h.get("id"));
        if (id == null || id.isEmpty()) {
            throw new MessageRejectedException("refused: task message without an 'id' header");
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> embed = body.get(2) == null ? Map.of() : (Map<String, Object>) body.get(2);
        @SuppressWarnings("unchecked")
        Map<String, Object> kwargs = (Map<String, Object>) body.get(1);

        Map<String, Object> extraHeaders = without(h, TASK_HEADER_NAMES);
        Map<String, Object> p = e.properties();
        Map<String, Object> extraProperties = without(p, KNOWN_PROPERTIES);
        Map<?, ?> info = p.get("delivery_info") instanceof Map<?, ?> m ? m : Map.of();
        List<?> timelimit = h.get("timelimit") instanceof List<?> l ? l : List.of();

        try {
            return TaskMessage.builder(string(h.get("task")), id)
                    .lang(string(h.get("lang")))
                    .shadow(string(h.get("shadow")))
                    .eta(JsonValues.instant(h.get("eta"), "eta"))
                    .expires(JsonValues.instant(h.get("expires"), "expires"))
                    .group(string(h.get("group")))
                    .groupIndex(h.get("group_index") instanceof Number n ? n.intValue() : null)
                    .retries(h.get("retries") instanceof Number n ? n.intValue() : 0)
                    .timeLimit(timelimit.size() > 0 ? toDouble(timelimit.get(0)) : null)
                    .softTimeLimit(timelimit.size() > 1 ? toDouble(timelimit.get(1)) : null)
                    .rootId(string(h.get("root_id")))
                    .parentId(string(h.get("parent_id")))
                    .argsRepr(string(h.get("argsrepr")))
                    .kwargsRepr(string(h.get("kwargsrepr")))
                    .origin(string(h.get("origin")))
                    .ignoreResult(Boolean.TRUE.equals(h.get("ignore_result")))
                    .extraHeaders(extraHeaders)
                    .args((List<?>) body.get(0))
                    .kwargs(kwargs)
                    .callbacks(list(embed.get("callbacks")))
                    .errbacks(list(embed.get("errbacks")))
                    .chain(list(embed.get("chain")))
                    .chord(embed.get("chord") instanceof Map<?, ?> c ? castMap(c) : null)
                    .correlationId(string(p.get("correlation_id")))
                    .replyTo(string(p.get("reply_to")))
                    .deliveryMode(p.get("delivery_mode") instanceof Number n ? n.intValue() : 2)
                    .exchange(string(info.get("exchange")))
                    .routingKey(string(info.get("routing_key")))
                    .priority(p.get("priority") instanceof Number n ? n.intValue() : 0)
                    .deliveryTag(string(p.get("delivery_tag")))
                    .extraProperties(extraProperties)
                    .build();
        } catch (ClassCastException | IllegalArgumentException ex) {
            throw new MessageRejectedException("refused: malformed protocol v2 headers: " + ex.getMessage(), ex);
        }
    }

    private static void requireJson(@Nullable String contentType) {
        if ("application/json".equals(contentType)) {
            return;
        }
        if ("application/x-python-serialize".equals(contentType)) {
            throw new MessageRejectedException("refused: pickle content (application/x-python-serialize) is never "
                    + "deserialized; configure the producer with task_serializer='json'");
        }
        if ("application/x-yaml".equals(contentType)) {
            throw new MessageRejectedException("refused: yaml content (application/x-yaml) is never deserialized; "
                    + "configure the producer with task_serializer='json'");
        }
        throw new MessageRejectedException("refused: content type '" + contentType + "' is not supported; only "
                + "application/json is accepted");
    }

    /**
     * The body's text, refusing bytes that are not UTF-8: read with replacement characters, the task would run with
     * altered arguments. The lenient decode is the fast path; only a replacement character in its output (rare in
     * real text) costs a strict second pass, which tells a malformed sequence from a genuine U+FFFD.
     */
    public static String strictUtf8(byte[] bytes) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (text.indexOf('\uFFFD') >= 0) {
            int bad = malformedUtf8(bytes);
            if (bad >= 0) {
                throw new MessageRejectedException("refused: body is not valid UTF-8 (malformed byte sequence at "
                        + "byte offset " + bad + " of the decoded body); it would run with altered arguments");
            }
        }
        return text;
    }

    /** A JSON body (event, control message, reply) read strictly as UTF-8 and parsed. */
    public @Nullable Object readJsonBody(BrokerMessage m) {
        return readJson(strictUtf8(m.body()));
    }

    // ------------------------------------------------------------------ JSON values

    /** Parses JSON into plain values (null, Boolean, Number, String, List, Map). */
    public @Nullable Object readJson(String json) {
        return read(json, p -> {
            JsonToken first = p.nextToken();
            if (first == null) {
                throw new MessageRejectedException("refused: malformed JSON: no content");
            }
            return PlainJson.read(p, first);
        });
    }

    /** What a {@link #read} reads, token by token. */
    interface Reading<T> {
        T from(JsonParser p) throws IOException;
    }

    /** What a {@link #write} writes, token by token. */
    interface Writing {
        void to(JsonGenerator g) throws IOException;
    }

    /**
     * Reads {@code json} with this codec's parser (its size limits); malformed text is refused with Jackson's
     * one-line reason.
     */
    <T> T read(String json, Reading<T> reading) {
        try (JsonParser p = mapper.createParser(json)) {
            return reading.from(p);
        } catch (JsonProcessingException e) {
            throw new MessageRejectedException("refused: malformed JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new MessageRejectedException("refused: malformed JSON: " + e.getMessage(), e);
        }
    }

    /** Compact JSON text written with this codec's generator. */
    String write(Writing writing) {
        // The writer ObjectMapper.writeValueAsString uses: its buffers are recycled, not grown and copied.
        SegmentedStringWriter out = new SegmentedStringWriter(mapper.getFactory()._getBufferRecycler());
        try {
            try (JsonGenerator g = mapper.createGenerator(out)) {
                writing.to(g);
            }
            return out.getAndClear();
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Compact JSON as UTF-8 bytes, written with this codec's generator straight into bytes: for large messages (a
     * batch of events) that go to the wire as bytes, where text would be copied out of the writer and encoded again.
     */
    byte[] writeBytes(Writing writing) {
        ByteArrayBuilder out = new ByteArrayBuilder(mapper.getFactory()._getBufferRecycler());
        try {
            try (JsonGenerator g = mapper.createGenerator(out, JsonEncoding.UTF8)) {
                writing.to(g);
            }
            return out.toByteArray();
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            out.release();
        }
    }

    /** Writes a plain JSON value (what is not one goes through the mapper, as {@link #writeJson} would). */
    void writeValue(JsonGenerator g, @Nullable Object value) throws IOException {
        PlainJson.write(g, value, mapper);
    }

    /** Parses a JSON object. */
    public Map<String, Object> readJsonObject(String json) {
        try {
            return mapper.readValue(json, MAP);
        } catch (JsonProcessingException e) {
            throw new MessageRejectedException("refused: malformed JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** Compact JSON text of a value (plain values, records, POJOs). */
    public String writeJson(@Nullable Object value) {
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            return write(g -> PlainJson.write(g, value, mapper));
        }
        try {
            return mapper.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    /** {@link #writeJson}'s text as UTF-8 bytes, written as bytes from the start (no intermediate String). */
    public byte[] writeJsonBytes(@Nullable Object value) {
        if (value instanceof Map<?, ?> || value instanceof List<?>) {
            return writeBytes(g -> PlainJson.write(g, value, mapper));
        }
        try {
            return mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e.getOriginalMessage(), e);
        }
    }

    /**
     * Converts any Java value to plain JSON values, or throws {@link IllegalArgumentException} saying why it cannot
     * travel (an object with no properties, a cycle, a type Jackson cannot write).
     */
    public @Nullable Object toJsonValue(@Nullable Object any) {
        if (any == null || any instanceof String || any instanceof Boolean || any instanceof Integer
                || any instanceof Long || any instanceof Double) {
            return any;
        }
        if (any instanceof Thread || any instanceof java.io.InputStream || any instanceof java.io.OutputStream
                || any instanceof java.sql.Connection) {
            throw new IllegalArgumentException("a " + any.getClass().getName() + " is a live object, not data");
        }
        Object value;
        try {
            value = mapper.convertValue(any, Object.class);
        } catch (IllegalArgumentException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
            throw new IllegalArgumentException(why, e);
        } catch (StackOverflowError e) {
            throw new IllegalArgumentException("it refers to itself (a cycle)");
        }
        if (value instanceof Map<?, ?> m && m.isEmpty() && !(any instanceof Map<?, ?>)) {
            throw new IllegalArgumentException("it has no readable properties (no getters or record components), "
                    + "so it would arrive as {}");
        }
        return value;
    }

    /** Converts plain JSON values to {@code type}; throws {@link IllegalArgumentException} on a mismatch. */
    public <T> @Nullable T fromJsonValue(@Nullable Object jsonValue, Type type) {
        JavaType target = mapper.constructType(type);
        try {
            return mapper.convertValue(jsonValue, target);
        } catch (IllegalArgumentException e) {
            String why = e.getMessage() == null ? e.toString() : e.getMessage().split("\n")[0];
            throw new IllegalArgumentException(why, e);
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Offset of the first malformed or truncated UTF-8 sequence, or -1 if there is none. */
    static int malformedUtf8(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = decoder.decode(in, out, true);
        if (r.isError()) {
            return in.position();
        }
        r = decoder.flush(out);
        return r.isError() ? in.position() : -1;
    }

    /** Python's {@code datetime.isoformat()} for an aware UTC time: microseconds only when non-zero. */
    static @Nullable String isoformat(@Nullable Instant t) {
        if (t == null) {
            return null;
        }
        OffsetDateTime odt = t.atOffset(ZoneOffset.UTC);
        String pattern = odt.getNano() / 1000 == 0 ? "yyyy-MM-dd'T'HH:mm:ss" : "yyyy-MM-dd'T'HH:mm:ss.SSSSSS";
        return odt.format(DateTimeFormatter.ofPattern(pattern)) + "+00:00";
    }

    /** Time limits: whole seconds as integers, as Python writes them; fractions as floats. */
    private static @Nullable Object number(@Nullable Double d) {
        if (d == null) {
            return null;
        }
        if (d != Math.rint(d) || Math.abs(d) >= 1e15) {
            return d;
        }
        // The type JSON reading gives back (Integer when it fits), so a message equals itself after a round trip.
        long l = (long) d.doubleValue();
        return l == (int) l ? (Object) (int) l : (Object) l;
    }

    /** The entries of {@code m} whose keys are not in {@code known}, in their order. */
    private static Map<String, Object> without(Map<String, Object> m, Set<String> known) {
        Map<String, Object> rest = new LinkedHashMap<>();
        m.forEach((k, v) -> {
            if (!known.contains(k)) {
                rest.put(k, v);
            }
        });
        return rest;
    }

    private static @Nullable Double toDouble(@Nullable Object v) {
        return v instanceof Number n ? n.doubleValue() : null;
    }

    private static @Nullable String string(@Nullable Object v) {
        return v == null ? null : v.toString();
    }

    private static @Nullable List<Object> list(@Nullable Object v) {
        return v instanceof List<?> l ? new ArrayList<>(l) : null;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> castMap(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }
}
