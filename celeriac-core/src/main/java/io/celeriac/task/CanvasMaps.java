package io.celeriac.task;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Celery's dict form of canvases, both ways: {@code {task, args, kwargs, options, subtask_type, immutable}}, with
 * chains, groups and chords as {@code celery.chain} / {@code celery.group} / {@code celery.chord} signatures whose
 * kwargs hold their parts (Celery 5's {@code Signature.from_dict}).
 */
final class CanvasMaps {
    /** Option keys that map to {@link SendOptions} or to links; the rest is kept verbatim. */
    private static final Set<String> TYPED = Set.of("task_id", "queue", "routing_key", "priority", "countdown", "eta",
            "expires", "time_limit", "soft_time_limit", "ignore_result", "shadow", "headers", "link", "link_error");

    private CanvasMaps() {
    }

    static Canvas.Sender senderOf(Canvas c, Canvas.@Nullable Sender own) {
        Canvas.Sender s = own != null ? own : find(c);
        if (s == null) {
            throw new IllegalStateException(c + " is not bound to an app; send it with app.send, or build it from "
                    + "signatures made by app.signature");
        }
        return s;
    }

    private static Canvas.@Nullable Sender find(Canvas c) {
        if (c instanceof Signature s) {
            return s.sender();
        }
        List<Canvas> parts = new ArrayList<>();
        Canvas.Sender own;
        if (c instanceof Chain ch) {
            own = ch.sender();
            parts.addAll(ch.steps());
        } else if (c instanceof Group g) {
            own = g.sender();
            parts.addAll(g.members());
        } else {
            Chord cd = (Chord) c;
            own = cd.sender();
            parts.add(cd.header());
            parts.add(cd.body());
        }
        if (own != null) {
            return own;
        }
        for (Canvas p : parts) {
            Canvas.Sender s = find(p);
            if (s != null) {
                return s;
            }
        }
        return null;
    }

    /** Celery's {@code xmap}/{@code xstarmap}: the built-in task over the items, routed as the inner task. */
    static Signature basemap(String builtin, Signature task, List<?> items) {
        Map<String, Object> kwargs = new LinkedHashMap<>();
        kwargs.put("task", task.toMap());
        kwargs.put("it", new ArrayList<>(items));
        SendOptions.Builder o = SendOptions.builder();
        task.options().queue().ifPresent(o::queue);
        task.options().priority().ifPresent(o::priority);
        return new Signature(builtin, List.of(), kwargs, o.build(), true, List.of(), List.of(), Map.of(),
                task.sender());
    }

    static Map<String, Object> composite(String task, String type, Map<String, Object> kwargs, SendOptions options) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task);
        m.put("args", List.of());
        m.put("kwargs", kwargs);
        m.put("options", options(options, List.of(), List.of(), Map.of()));
        m.put("subtask_type", type);
        m.put("immutable", false);
        return m;
    }

    static Map<String, Object> options(SendOptions o, List<Canvas> links, List<Canvas> linkErrors,
                                       Map<String, Object> other) {
        Map<String, Object> opts = new LinkedHashMap<>(other);
        o.taskId().ifPresent(v -> opts.put("task_id", v));
        o.queue().ifPresent(v -> opts.put("queue", v));
        o.routingKey().ifPresent(v -> opts.put("routing_key", v));
        o.priority().ifPresent(v -> opts.put("priority", v));
        o.countdown().ifPresent(v -> opts.put("countdown", seconds(v)));
        o.eta().ifPresent(v -> opts.put("eta", v.toString()));
        o.expiresIn().ifPresent(v -> opts.put("expires", seconds(v)));
        o.expiresAt().ifPresent(v -> opts.put("expires", v.toString()));
        o.timeLimit().ifPresent(v -> opts.put("time_limit", seconds(v)));
        o.softTimeLimit().ifPresent(v -> opts.put("soft_time_limit", seconds(v)));
        o.ignoreResult().ifPresent(v -> opts.put("ignore_result", v));
        o.shadow().ifPresent(v -> opts.put("shadow", v));
        if (!o.headers().isEmpty()) {
            opts.put("headers", o.headers());
        }
        if (!links.isEmpty()) {
            opts.put("link", links.stream().map(Canvas::toMap).toList());
        }
        if (!linkErrors.isEmpty()) {
            opts.put("link_error", linkErrors.stream().map(Canvas::toMap).toList());
        }
        return opts;
    }

    private static Object seconds(Duration d) {
        return d.toNanos() % 1_000_000_000 == 0 ? (Object) d.getSeconds() : d.toNanos() / 1e9;
    }

    static Canvas fromMap(@Nullable Map<String, ?> map) {
        if (map == null) {
            throw new IllegalArgumentException("a signature is a dict, got null");
        }
        Object type = map.get("subtask_type");
        Map<String, Object> options = dict(map.get("options"), "options");
        Map<String, Object> kwargs = dict(map.get("kwargs"), "kwargs");
        if (type == null) {
            Object task = map.get("task");
            if (!(task instanceof String name) || name.isEmpty()) {
                throw new IllegalArgumentException("a signature needs a task name, got " + task);
            }
            Object args = map.get("args");
            if (args != null && !(args instanceof List)) {
                throw new IllegalArgumentException("args of " + name + " is not a list: " + args);
            }
            return new Signature(name, args == null ? List.of() : (List<?>) args, kwargs, sendOptions(options),
                    Boolean.TRUE.equals(map.get("immutable")), canvases(options.get("link"), "link"),
                    canvases(options.get("link_error"), "link_error"), untyped(options), null);
        }
        return switch (type.toString()) {
            case "chain" -> new Chain(canvases(kwargs.get("tasks"), "chain tasks"), sendOptions(options), null);
            case "group" -> new Group(canvases(kwargs.get("tasks"), "group tasks"), sendOptions(options), null);
            case "chord" -> {
                Object header = kwargs.get("header");
                Group g = header instanceof Map<?, ?> h ? asGroup(fromMap(cast(h)))
                        : new Group(canvases(header, "chord header"), SendOptions.none(), null);
                Object body = kwargs.get("body");
                if (!(body instanceof Map<?, ?> b)) {
                    throw new IllegalArgumentException("a chord needs a body signature, got " + body);
                }
                yield new Chord(g, fromMap(cast(b)), sendOptions(options), null);
            }
            case "xmap", "xstarmap" -> {
                yield new Signature("xmap".equals(type) ? "celery.map" : "celery.starmap", List.of(), kwargs,
                        sendOptions(options), true, canvases(options.get("link"), "link"),
                        canvases(options.get("link_error"), "link_error"), untyped(options), null);
            }
            case "chunks" -> {
                Object task = kwargs.get("task");
                Object it = kwargs.get("it");
                if (!(task instanceof Map<?, ?> t) || !(it instanceof List<?> items)
                        || !(kwargs.get("n") instanceof Number n) || n.intValue() < 1) {
                    throw new IllegalArgumentException("chunks needs task, it and n, got " + kwargs);
                }
                List<List<?>> lists = new ArrayList<>();
                for (Object o : items) {
                    if (!(o instanceof List<?> l)) {
                        throw new IllegalArgumentException("chunks items must be argument lists, got " + o);
                    }
                    lists.add(l);
                }
                Canvas inner = fromMap(cast(t));
                if (!(inner instanceof Signature sig)) {
                    throw new IllegalArgumentException("chunks needs a task signature, got " + t);
                }
                yield Canvas.chunks(sig, lists, n.intValue()).withOptions(sendOptions(options));
            }
            default -> throw new IllegalArgumentException("unsupported canvas type '" + type + "' (Celeriac runs "
                    + "signatures, chains, groups, chords, map, starmap and chunks)");
        };
    }

    /** The options without a typed field, kept verbatim. */
    private static Map<String, Object> untyped(Map<String, Object> options) {
        Map<String, Object> other = new LinkedHashMap<>();
        for (Map.Entry<String, Object> e : options.entrySet()) {
            if (!TYPED.contains(e.getKey())) {
                other.put(e.getKey(), e.getValue());
            }
        }
        return other;
    }

    private static Group asGroup(Canvas c) {
        return c instanceof Group g ? g : new Group(List.of(c), SendOptions.none(), null);
    }

    private static List<Canvas> canvases(@Nullable Object v, String what) {
        if (v == null) {
            return List.of();
        }
        if (!(v instanceof List<?> list)) {
            throw new IllegalArgumentException(what + " is not a list of signatures: " + v);
        }
        List<Canvas> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m)) {
                throw new IllegalArgumentException(what + " holds something that is not a signature: " + o);
            }
            out.add(fromMap(cast(m)));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> cast(Map<?, ?> m) {
        return (Map<String, Object>) m;
    }

    private static Map<String, Object> dict(@Nullable Object v, String what) {
        if (v == null) {
            return Map.of();
        }
        if (!(v instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException(what + " of a signature is not a dict: " + v);
        }
        return cast(m);
    }

    /** Celery's send options from a signature's options dict; unknown or odd values are refused with the key. */
    static SendOptions sendOptions(Map<String, Object> o) {
        SendOptions.Builder b = SendOptions.builder();
        try {
            str(o, "task_id").ifPresent(b::taskId);
            str(o, "queue").ifPresent(b::queue);
            str(o, "routing_key").ifPresent(b::routingKey);
            num(o, "priority").ifPresent(v -> b.priority(v.intValue()));
            num(o, "countdown").ifPresent(v -> b.countdown(duration(v)));
            if (o.get("eta") != null) {
                b.eta(instant(o.get("eta")));
            }
            Object expires = o.get("expires");
            if (expires instanceof Number n) {
                b.expires(duration(n));
            } else if (expires != null) {
                b.expires(instant(expires));
            }
            num(o, "time_limit").ifPresent(v -> b.timeLimit(duration(v)));
            num(o, "soft_time_limit").ifPresent(v -> b.softTimeLimit(duration(v)));
            if (o.get("ignore_result") instanceof Boolean v) {
                b.ignoreResult(v);
            }
            str(o, "shadow").ifPresent(b::shadow);
            if (o.get("headers") instanceof Map<?, ?> h) {
                b.headers(cast(h));
            }
            return b.build();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("bad signature options " + o + ": " + e.getMessage(), e);
        }
    }

    private static java.util.Optional<String> str(Map<String, Object> o, String k) {
        Object v = o.get(k);
        return v == null ? java.util.Optional.empty() : java.util.Optional.of(v.toString());
    }

    private static java.util.Optional<Number> num(Map<String, Object> o, String k) {
        Object v = o.get(k);
        if (v == null) {
            return java.util.Optional.empty();
        }
        if (!(v instanceof Number n)) {
            throw new IllegalArgumentException(k + " is not a number: " + v);
        }
        return java.util.Optional.of(n);
    }

    private static Duration duration(Number seconds) {
        return Duration.ofNanos(new BigDecimal(seconds.toString()).movePointRight(9).longValue());
    }

    private static Instant instant(Object v) {
        String s = v.toString();
        try {
            return OffsetDateTime.parse(s).toInstant();
        } catch (DateTimeParseException e) {
            return LocalDateTime.parse(s).toInstant(ZoneOffset.UTC);
        }
    }
}
