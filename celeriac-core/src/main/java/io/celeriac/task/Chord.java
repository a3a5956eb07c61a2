package io.celeriac.task;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * A group whose results go to a body once every member is done, Celery's {@code chord}. The body gets the list of
 * the header's results in header order; if a member failed, the body is not run but marked FAILURE with Celery's
 * {@code ChordError} ("Dependency ... raised ...") and its errbacks are called. Completion is counted in the result
 * backend, in Celery's keys on Redis, so a chord whose members run on Python and Java workers completes once.
 */
public final class Chord implements Canvas {
    private final Group header;
    private final Canvas body;
    private final SendOptions options;
    private final @Nullable Sender sender;

    Chord(Group header, Canvas body, @Nullable SendOptions options, @Nullable Sender sender) {
        this.header = Objects.requireNonNull(header, "header");
        this.body = Objects.requireNonNull(body, "body");
        this.options = options == null ? SendOptions.none() : options;
        this.sender = sender;
    }

    public Group header() { return header; }
    public Canvas body() { return body; }
    @Override
    public SendOptions options() { return options; }

    @Override
    public Chord withOptions(SendOptions newOptions) {
        return new Chord(header, body, newOptions, sender);
    }

    /** Celery: a chord's callback is the body's. */
    @Override
    public Chord link(Canvas callback) {
        return new Chord(header, body.link(callback), options, sender);
    }

    /** Celery: a chord's errback is the body's, called when a member fails or the body does. */
    @Override
    public Chord linkError(Canvas errback) {
        return new Chord(header, body.linkError(errback), options, sender);
    }

    @Override
    public Chord bind(Sender newSender) {
        return new Chord(header, body, options, newSender);
    }

    /** Sends the chord; the result is the body's, whose {@link AsyncResult#parent()} is the header's group. */
    public AsyncResult applyAsync() {
        return CanvasMaps.senderOf(this, sender).send(this);
    }

    public AsyncResult delay() {
        return applyAsync();
    }

    @Override
    public Map<String, Object> toMap() {
        Map<String, Object> kw = new LinkedHashMap<>();
        kw.put("header", header.toMap());
        kw.put("body", body.toMap());
        kw.put("kwargs", Map.of());
        return CanvasMaps.composite("celery.chord", "chord", kw, options);
    }

    @Nullable Sender sender() { return sender; }

    @Override
    public String toString() {
        return "chord(" + header.members() + ", " + body + ")";
    }
}
