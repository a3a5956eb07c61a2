package io.celeriac.task;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * The results of a group's members, in member order, Celery's {@code GroupResult}.
 */
public final class GroupResult {
    private final String id;
    private final List<AsyncResult> results;

    public GroupResult(String id, List<AsyncResult> results) {
        this.id = Objects.requireNonNull(id, "id");
        this.results = List.copyOf(results);
    }

    /** The group id: the {@code group} header of every member's message. */
    public String id() { return id; }

    public List<AsyncResult> results() { return results; }

    /** True when every member is ready (SUCCESS, FAILURE or REVOKED). */
    public boolean ready() {
        return results.stream().allMatch(AsyncResult::ready);
    }

    /** True when every member succeeded. */
    public boolean successful() {
        return results.stream().allMatch(AsyncResult::successful);
    }

    /** True when a member failed. */
    public boolean failed() {
        return results.stream().anyMatch(AsyncResult::failed);
    }

    /** How many members succeeded (Celery's {@code completed_count}). */
    public int completedCount() {
        return (int) results.stream().filter(AsyncResult::successful).count();
    }

    /**
     * Waits for every member, within {@code timeout} in all, and returns their results in member order (Celery's
     * {@code join}); throws the first member failure as {@link AsyncResult#get} does.
     */
    public List<@Nullable Object> join(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        List<@Nullable Object> out = new ArrayList<>(results.size());
        for (AsyncResult r : results) {
            long left = Math.max(0, deadline - System.nanoTime());
            out.add(r.get(Duration.ofNanos(left)));
        }
        return out;
    }

    /** Same as {@link #join}. */
    public List<@Nullable Object> get(Duration timeout) {
        return join(timeout);
    }

    /** Revokes every member. */
    public void revoke() {
        results.forEach(AsyncResult::revoke);
    }

    public int size() {
        return results.size();
    }

    @Override
    public String toString() {
        return id + results;
    }
}
