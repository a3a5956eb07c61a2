package io.celeriac.broker;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * A {@link DispatchLedger} in memory, for one process (the in-memory schedule store, tests). Messages are kept as
 * {@link OutboundMessageCodec} text, as a shared store keeps them, so what is relayed went through the same form.
 */
public final class InMemoryDispatchLedger implements DispatchLedger {
    private final Clock clock;
    private final OutboundMessageCodec codec = new OutboundMessageCodec();
    private final Map<String, Rec> records = new HashMap<>();

    /** @param message the pending message as text, null once sent */
    private record Rec(@Nullable String message, Instant recordedAt, @Nullable Instant attemptedAt, Instant expiresAt) {
    }

    public InMemoryDispatchLedger(Clock clock) {
        this.clock = clock;
    }

    @Override
    public synchronized boolean record(String onceKey, Duration keep, OutboundMessage message) {
        Instant now = clock.instant();
        Rec r = records.get(onceKey);
        if (r != null && r.expiresAt.isAfter(now)) {
            return false;
        }
        records.put(onceKey, new Rec(codec.encode(message), now, now, now.plus(keep)));
        return true;
    }

    @Override
    public synchronized void markSent(String onceKey) {
        records.computeIfPresent(onceKey, (k, r) -> new Rec(null, r.recordedAt, null, r.expiresAt));
    }

    @Override
    public synchronized List<PendingDispatch> claimPending(Duration idleFor, int max) {
        Instant now = clock.instant();
        Instant cutoff = now.minus(idleFor);
        records.values().removeIf(r -> !r.expiresAt.isAfter(now));
        List<Map.Entry<String, Rec>> due = new ArrayList<>();
        for (Map.Entry<String, Rec> e : records.entrySet()) {
            if (e.getValue().message != null && !e.getValue().attemptedAt.isAfter(cutoff)) {
                due.add(e);
            }
        }
        due.sort(Comparator.comparing((Map.Entry<String, Rec> e) -> e.getValue().attemptedAt)
                .thenComparing(Map.Entry::getKey));
        List<PendingDispatch> out = new ArrayList<>();
        for (Map.Entry<String, Rec> e : due.subList(0, Math.min(max, due.size()))) {
            Rec r = e.getValue();
            records.put(e.getKey(), new Rec(r.message, r.recordedAt, now, r.expiresAt));
            out.add(new PendingDispatch(e.getKey(), codec.decode(r.message), r.recordedAt));
        }
        return out;
    }

    @Override
    public synchronized void forget(String onceKey) {
        records.remove(onceKey);
    }
}
