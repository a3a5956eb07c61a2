package io.celeriac.redis;

import io.celeriac.broker.DispatchLedger;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.broker.OutboundMessageCodec;
import io.celeriac.broker.PendingDispatch;
import io.lettuce.core.ScriptOutputType;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The dispatch ledger in Redis, beside the schedule store's entries: the once key itself (as {@code publish_once.lua}
 * sets it, with the record's keep as its TTL), hash {@code celeriac.dispatch.pending} (once key → recorded time and
 * message, while pending), sorted sets {@code celeriac.dispatch.attempts} (once key → when last recorded or claimed)
 * and {@code celeriac.dispatch.expires} (once key → when its keep ends). Every step is one Lua script
 * ({@code ledger_record}, {@code ledger_claim}, {@code ledger_drop}), so a record is never seen without its message;
 * times are Redis's clock.
 */
final class RedisDispatchLedger implements DispatchLedger {
    static final String PENDING = "celeriac.dispatch.pending";
    static final String ATTEMPTS = "celeriac.dispatch.attempts";
    static final String EXPIRES = "celeriac.dispatch.expires";
    private static final LuaScript RECORD = new LuaScript("ledger_record");
    private static final LuaScript CLAIM = new LuaScript("ledger_claim");
    private static final LuaScript DROP = new LuaScript("ledger_drop");

    private final RedisConnector redis;
    private final OutboundMessageCodec codec = new OutboundMessageCodec();

    RedisDispatchLedger(RedisConnector redis) {
        this.redis = redis;
    }

    @Override
    public boolean record(String onceKey, Duration keep, OutboundMessage message) {
        Long n = RECORD.run(redis.connection().sync(), ScriptOutputType.INTEGER,
                new String[] {onceKey, PENDING, ATTEMPTS, EXPIRES}, Long.toString(keep.toMillis()),
                codec.encode(message));
        return n != null && n == 1;
    }

    @Override
    public void markSent(String onceKey) {
        DROP.run(redis.connection().sync(), ScriptOutputType.INTEGER, new String[] {onceKey, PENDING, ATTEMPTS, EXPIRES},
                "sent");
    }

    @Override
    public List<PendingDispatch> claimPending(Duration idleFor, int max) {
        List<Object> flat = CLAIM.run(redis.connection().sync(), ScriptOutputType.MULTI,
                new String[] {PENDING, ATTEMPTS, EXPIRES}, Long.toString(idleFor.toMillis()), Integer.toString(max));
        List<PendingDispatch> out = new ArrayList<>(flat.size() / 2);
        for (int i = 0; i + 1 < flat.size(); i += 2) {
            String value = (String) flat.get(i + 1);
            int space = value.indexOf(' ');
            out.add(new PendingDispatch((String) flat.get(i), codec.decode(value.substring(space + 1)),
                    Instant.ofEpochMilli(Long.parseLong(value.substring(0, space)))));
        }
        return out;
    }

    @Override
    public void forget(String onceKey) {
        DROP.run(redis.connection().sync(), ScriptOutputType.INTEGER, new String[] {onceKey, PENDING, ATTEMPTS, EXPIRES},
                "forget");
    }
}
