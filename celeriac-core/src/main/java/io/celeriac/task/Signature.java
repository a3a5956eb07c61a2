package io.celeriac.task;

import io.celeriac.protocol.JsonValues;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A task call that can be sent later, Celery's {@code task.s(...)}: name, arguments and send options, plus callbacks
 * ({@link #link}), errbacks ({@link #linkError}) and whether it ignores the result of a previous step
 * ({@link #immutable()}, Celery's {@code si()}). Create with {@code app.signature(...)} or {@code app.task(name).s(...)};
 * send with {@link #delay()} / {@link #applyAsync()}, many at once with {@code app.sendAll(signatures)}, or combine
 * with {@link Canvas#chain}, {@link Canvas#group} and {@link Canvas#chord}.
 */
public final class Signature implements Canvas {
    private final String task;
    private final List<Object> args;
    private final Map<String, Object> kwargs;
    private final SendOptions options;
    private final boolean immutable;
    private final List<Canvas> links;
    private final List<Canvas> linkErrors;
    /**
     * Celery options this class has no typed field for, kept as received so a signature read from a message is
     * sent on unchanged: {@code group_id}, {@code group_index}, {@code chord}, {@code root_id}, {@code reply_to}...
     */
    private final Map<String, Object> otherOptions;
    private final @Nullable Sender sender;

    public Signature(String task, @Nullable List<?> args, @Nullable Map<String, ?> kwargs,
                     @Nullable SendOptions options, @Nullable Sender sender) {
        this(task, args, kwargs, options, false, List.of(), List.of(), Map.of(), sender);
    }

    Signature(String task, @Nullable List<?> args, @Nullable Map<String, ?> kwargs, @Nullable SendOptions options,
              boolean immutable, List<Canvas> links, List<Canvas> linkErrors, Map<String, ?> otherOptions,
              @Nullable Sender sender) {
        this.task = Objects.requireNonNull(task, "task");
        this.args = JsonValues.immutableList(args == null ? List.of() : args);
        this.kwargs = JsonValues.immutableMap(kwargs == null ? Map.of() : kwargs);
        this.options = options == null ? SendOptions.none() : options;
        this.immutable = immutable;
        this.links = List.copyOf(links);
        this.linkErrors = List.copyOf(linkErrors);
        this.otherOptions = JsonValues.immutableMap(otherOptions);
        this.sender = sender;
    }

    public String task() { return task; }
    public List<Object> args() { return args; }
    public Map<String, Object> kwargs() { return kwargs; }
    @Override
    public SendOptions options() { return options; }
    /** True if it ignores the result of a previous step (Celery's {@code immutable}, {@code si()}). */
    public boolean immutable() { return immutable; }
    /** Callbacks called with the result on success. */
    public List<Canvas> links() { return links; }
    /** Errbacks called with the task id on failure. */
    public List<Canvas> linkErrors() { return linkErrors; }
    /** Celery options without a typed field here (kept as read from a message). */
    public Map<String, Object> otherOptions() { return otherOptions; }

    @Nullable Sender sender() { return sender; }

    @Override
    public Signature withOptions(SendOptions newOptions) {
        return new Signature(task, args, kwargs, newOptions, immutable, links, linkErrors, otherOptions, sender);
    }

    /** Celery's {@code set(immutable=...)}: an immutable signature ignores the previous step's result. */
    public Signature immutable(boolean value) {
        return new Signature(task, args, kwargs, options, value, links, linkErrors, otherOptions, sender);
    }

    /** Celery's {@code si()}: the same call, immutable. */
    public Signature si() {
        return immutable(true);
    }

    @Override
    public Signature link(Canvas callback) {
        List<Canvas> l = new ArrayList<>(links);
        l.add(Objects.requireNonNull(callback, "callback"));
        return new Signature(task, args, kwargs, options, immutable, l, linkErrors, otherOptions, sender);
    }

    @Override
    public Signature linkError(Canvas errback) {
        List<Canvas> l = new ArrayList<>(linkErrors);
        l.add(Objects.requireNonNull(errback, "errback"));
        return new Signature(task, args, kwargs, options, immutable, links, l, otherOptions, sender);
    }

    @Override
    public Signature bind(Sender newSender) {
        return new Signature(task, args, kwargs, options, immutable, links, linkErrors, otherOptions, newSender);
    }

    /**
     * A copy with other Celery options ({@code group_id}, {@code group_index}, {@code chord}, {@code chain}...) that
     * travel with it unchanged; the canvas planner sets them as Celery's canvas does.
     */
    public Signature withOtherOptions(Map<String, ?> other) {
        return new Signature(task, args, kwargs, options, immutable, links, linkErrors, other, sender);
    }

    public AsyncResult delay() {
        return applyAsync();
    }

    public AsyncResult applyAsync() {
        if (sender == null) {
            throw new IllegalStateException("signature " + task + " is not bound to an app; send it with app.send");
        }
        return sender.send(this);
    }

    @Override
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("task", task);
        m.put("args", args);
        m.put("kwargs", kwargs);
        m.put("options", CanvasMaps.options(options, links, linkErrors, otherOptions));
        m.put("subtask_type", null);
        m.put("immutable", immutable);
        return m;
    }

    @Override
    public String toString() {
        return task + args + (kwargs.isEmpty() ? "" : kwargs);
    }
}
