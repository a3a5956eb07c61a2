package io.celeriac.task;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * Members run in parallel, Celery's {@code group}. Each member's message carries the group's id (the {@code group}
 * header); a group id chosen with {@link SendOptions.Builder#taskId} makes the group findable later. Partial
 * arguments given to a group (as a chain step or a callback) go to every member.
 */
public final class Group implements Canvas {
    private final List<Canvas> members;
    private final SendOptions options;
    private final @Nullable Sender sender;

    Group(List<? extends Canvas> members, @Nullable SendOptions options, @Nullable Sender sender) {
        for (Canvas c : members) {
            Objects.requireNonNull(c, "member");
        }
        this.members = List.copyOf(members);
        this.options = options == null ? SendOptions.none() : options;
        this.sender = sender;
    }

    public List<Canvas> members() { return members; }
    @Override
    public SendOptions options() { return options; }

    @Override
    public Group withOptions(SendOptions newOptions) {
        return new Group(members, newOptions, sender);
    }

    /**
     * Refused, as in Celery ("Cannot add link to group: use a chord"): a callback that should see every member's
     * result is a chord's body.
     */
    @Override
    public Group link(Canvas callback) {
        throw new UnsupportedOperationException("Cannot add link to group: use a chord");
    }

    /** Every member gets the errback, as any of them may fail (Celery's {@code group.link_error}). */
    @Override
    public Group linkError(Canvas errback) {
        return new Group(members.stream().map(c -> c.linkError(errback)).toList(), options, sender);
    }

    @Override
    public Group bind(Sender newSender) {
        return new Group(members, options, newSender);
    }

    public GroupResult applyAsync() {
        return CanvasMaps.senderOf(this, sender).send(this);
    }

    public GroupResult delay() {
        return applyAsync();
    }

    @Override
    public Map<String, Object> toMap() {
        Map<String, Object> kw = new LinkedHashMap<>();
        kw.put("tasks", members.stream().map(Canvas::toMap).toList());
        return CanvasMaps.composite("celery.group", "group", kw, options);
    }

    @Nullable Sender sender() { return sender; }

    @Override
    public String toString() {
        return "group(" + members + ")";
    }
}
