package io.celeriac.task;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A workflow built from task signatures, Celery's canvas: a {@link Signature} (one task call), a {@link Chain}
 * (steps run one after another, each getting the previous result), a {@link Group} (members run in parallel) and a
 * {@link Chord} (a group whose results go to a body once all of them are done).
 *
 * <pre>{@code
 * AsyncResult total = Canvas.chord(
 *         Canvas.group(app.signature("acc.add", 1, 2), app.signature("acc.add", 3, 4)),
 *         app.signature("acc.tsum")).applyAsync();
 * AsyncResult last = app.signature("acc.add", 1, 2).then(app.signature("acc.add", 3)).applyAsync();
 * }</pre>
 *
 * <p>Every canvas is immutable: {@code link}, {@code withOptions} and friends return a copy. On the wire each is
 * Celery's dict form ({@link #toMap()}), so a workflow started in Java may run through Python workers and the reverse.
 */
public sealed interface Canvas permits Signature, Chain, Group, Chord {

    /** Sends canvases; the app that created a signature is bound to it. */
    interface Sender {
        AsyncResult send(Signature signature);

        AsyncResult send(Chain chain);

        GroupResult send(Group group);

        AsyncResult send(Chord chord);
    }

    /** Steps run in order; each non-immutable step gets the previous step's result as its first argument. */
    static Chain chain(Canvas... steps) {
        return new Chain(Arrays.asList(steps), SendOptions.none(), null);
    }

    static Chain chain(List<? extends Canvas> steps) {
        return new Chain(steps, SendOptions.none(), null);
    }

    /** Members run in parallel; their results are collected by a {@link GroupResult}. */
    static Group group(Canvas... members) {
        return new Group(Arrays.asList(members), SendOptions.none(), null);
    }

    static Group group(List<? extends Canvas> members) {
        return new Group(members, SendOptions.none(), null);
    }

    /** Runs {@code header}, then {@code body} with the list of the header's results, in header order. */
    static Chord chord(Group header, Canvas body) {
        return new Chord(header, body, SendOptions.none(), null);
    }

    static Chord chord(List<? extends Canvas> header, Canvas body) {
        return new Chord(group(header), body, SendOptions.none(), null);
    }

    /**
     * One task, {@code celery.map}, that calls {@code task} with each item in turn, in one worker thread, and returns
     * the list of results (Celery's {@code task.map(items)}; not parallel: use a group for that).
     */
    static Signature map(Signature task, List<?> items) {
        return CanvasMaps.basemap("celery.map", task, items);
    }

    /** As {@link #map}, each item being the argument list of one call (Celery's {@code task.starmap(items)}). */
    static Signature starmap(Signature task, List<? extends List<?>> items) {
        return CanvasMaps.basemap("celery.starmap", task, items);
    }

    /**
     * Splits the argument lists into chunks of {@code n} and runs each chunk as one {@link #starmap} task, the
     * chunks in parallel as a group (Celery's {@code task.chunks(items, n)}).
     */
    static Group chunks(Signature task, List<? extends List<?>> items, int n) {
        if (n < 1) {
            throw new IllegalArgumentException("chunk size must be at least 1, was " + n);
        }
        List<Canvas> parts = new java.util.ArrayList<>();
        for (int i = 0; i < items.size(); i += n) {
            parts.add(starmap(task, items.subList(i, Math.min(items.size(), i + n))));
        }
        return group(parts).bind(task.sender());
    }

    /**
     * Reads Celery's dict form of a signature, chain, group or chord (as found in a message's {@code callbacks},
     * {@code errbacks}, {@code chain} and {@code chord} fields). The result is not bound to an app.
     *
     * @throws IllegalArgumentException if {@code map} is not a signature Celery could read
     */
    static Canvas fromMap(Map<String, ?> map) {
        return CanvasMaps.fromMap(map);
    }

    /** Celery's dict form: {@code task, args, kwargs, options, subtask_type, immutable}. */
    Map<String, Object> toMap();

    /** Send options of this canvas (Celery's {@code options}). */
    SendOptions options();

    /** A copy with other send options. */
    Canvas withOptions(SendOptions options);

    /** A copy that calls {@code callback} with its result on success (Celery's {@code link}). */
    Canvas link(Canvas callback);

    /** A copy that calls {@code errback} with the failed task's id on failure (Celery's {@code link_error}). */
    Canvas linkError(Canvas errback);

    /** A copy bound to {@code sender}, so {@code applyAsync()} works. */
    Canvas bind(Sender sender);

    /** This canvas followed by {@code next}: Celery's {@code a | b}. */
    default Chain then(Canvas next) {
        return Canvas.chain(this, next);
    }
}
