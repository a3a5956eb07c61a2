package io.celeriac.worker;

import io.celeriac.task.RateLimit;

/**
 * Celery's per-worker rate limit: a bucket holding up to {@code capacity} tokens refilled at the limit's rate. Used
 * by the dispatcher thread only, so it needs no locking.
 */
final class TokenBucket {
    private final double perNano;
    private final double capacity;
    private double tokens;
    private long last;

    TokenBucket(RateLimit limit, long nowNanos) {
        this.perNano = limit.perSecond() / 1e9;
        // Like kombu's TokenBucket, the capacity is 1: a limit of 10/s means one task every 100 ms, not bursts of 10.
        this.capacity = 1;
        this.tokens = capacity;
        this.last = nowNanos;
    }

    /** Takes a token if one is there; returns 0 on success, else nanoseconds until one will be. */
    long tryTake(long nowNanos) {
        tokens = Math.min(capacity, tokens + (nowNanos - last) * perNano);
        last = nowNanos;
        if (tokens >= 1) {
            tokens -= 1;
            return 0;
        }
        return (long) Math.ceil((1 - tokens) / perNano);
    }
}
