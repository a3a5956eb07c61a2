package io.celeriac.task;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Steps run one after another, Celery's {@code chain}: each step that is not immutable gets the previous step's
 * result as its first argument. A group followed by another step becomes a chord, as in Celery. The steps after the
 * first travel with the message ({@code chain}, in reverse order), so no coordinator is needed: the worker that ran
 * a step sends the next. A failing step marks the steps after it FAILURE.
 */
public final class Chain implements Canvas {
    private final List<Canvas> steps;
    private final SendOptions options;
    private final @Nullable Sender sender;

    Chain(List<? extends Canvas> steps, @Nullable SendOptions options, @Nullable Sender sender) {
        if (steps.isEmpty()) {
            throw new IllegalArgumentException("a chain needs at least one step");
        }
        for (Canvas c : steps) {
            Objects.requireNonNull(c, "step");
        }
        this.steps = List.copyOf(steps);
        this.options = options == null ? SendOptions.none() : options;
        this.sender = sender;
    }

    public List<Canvas> steps() { return steps; }
    @Override
    public SendOptions options() { return options; }

    @Override
    public Chain withOptions(SendOptions newOptions) {
        return new Chain(steps, newOptions, sender);
    }

    /** Celery: a chain's callback is linked to its last step. */
    @Override
    public Chain link(Canvas callback) {
        List<Canvas> s = new ArrayList<>(steps);
        s.set(s.size() - 1, s.get(s.size() - 1).link(callback));
        return new Chain(s, options, sender);
    }

    /** Celery: every step gets the errback, as any of them may fail. */
    @Override
    public Chain linkError(Canvas errback) {
        return new Chain(steps.stream().map(c -> c.linkError(errback)).toList(), options, sender);
    }

    @Override
    public Chain bind(Sender newSender) {
        return new Chain(steps, options, newSender);
    }

    /** This chain with one more step. */
    @Override
    public Chain then(Canvas next) {
        List<Canvas> s = new ArrayList<>(steps);
        s.add(next);
        return new Chain(s, options, sender);
    }

    /** Sends the chain; the result is the last step's, whose {@link AsyncResult#parent()} leads back to the first. */
    public AsyncResult applyAsync() {
        return CanvasMaps.senderOf(this, sender).send(this);
    }

    public AsyncResult delay() {
        return applyAsync();
    }

    @Override
    public Map<String, Object> toMap() {
        Map<String, Object> kw = new LinkedHashMap<>();
        kw.put("tasks", steps.stream().map(Canvas::toMap).toList());
        return CanvasMaps.composite("celery.chain", "chain", kw, options);
    }

    @Nullable Sender sender() { return sender; }

    @Override
    public String toString() {
        return String.join(" | ", steps.stream().map(Object::toString).toList());
    }
}
