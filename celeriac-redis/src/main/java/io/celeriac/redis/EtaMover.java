package io.celeriac.redis;

import io.celeriac.protocol.MessageCodec;
import io.lettuce.core.Limit;
import io.lettuce.core.Range;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.api.sync.RedisCommands;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.function.DoubleSupplier;

/**
 * Moves due messages from {@code celeriac.scheduled} (those a Celeriac worker deferred, see
 * {@link RedisBroker#defer}) back to their lists: reads the due members, then {@code move_due.lua} moves each one it
 * could remove, so two movers never queue one twice. Wakes at the next due time, at most 250 ms apart. A member
 * that does not parse goes to the dead-letter list with its bytes.
 */
final class EtaMover {
    private static final Logger log = LoggerFactory.getLogger(EtaMover.class);
    private static final LuaScript MOVE_DUE = new LuaScript("move_due");
    private static final int MOVE_BATCH = 1000;

    private final RedisConnector redis;
    private final MessageCodec codec;
    private final DoubleSupplier now;
    private final String deadLetterKey;
    private final java.util.function.Supplier<java.util.Collection<RedisKeys>> spaces;

    /** @param spaces the key spaces to move in (kombu's layout: the one; on a cluster: every queue consumed so far) */
    EtaMover(RedisConnector redis, MessageCodec codec, DoubleSupplier now, String deadLetterKey,
             java.util.function.Supplier<java.util.Collection<RedisKeys>> spaces) {
        this.redis = redis;
        this.codec = codec;
        this.now = now;
        this.deadLetterKey = deadLetterKey;
        this.spaces = spaces;
    }

    /**
     * Member of {@code celeriac.scheduled}: {@code <length of list key in UTF-8 bytes>:<list key><payload>},
     * unambiguous.
     */
    static String member(String list, String payload) {
        return b(list).length + ":" + list + payload;
    }

    /** Runs until {@code running} says stop (the broker's {@code celeriac-eta} thread). */
    void loop(java.util.function.BooleanSupplier running) {
        while (running.getAsBoolean()) {
            long sleep = 250;
            boolean moved = false;
            boolean failed = false;
            java.util.Collection<RedisKeys> known;
            try {
                known = spaces.get();
            } catch (RuntimeException e) {
                known = java.util.List.of();
                failed = true;
            }
            for (RedisKeys keys : known) {
                try {
                    double t = now.getAsDouble();
                    List<ScoredValue<byte[]>> next = redis.bytesConnectionFor(keys.scheduled()).sync()
                            .zrangeWithScores(b(keys.scheduled()), 0, 0);
                    if (!next.isEmpty()) {
                        double at = next.get(0).getScore();
                        if (at <= t) {
                            if (moveDue(keys, t) > 0) {
                                moved = true;
                                continue;
                            }
                            sleep = Math.min(sleep, 10);
                        } else {
                            sleep = Math.min(sleep, Math.max(1, Math.min(250, (long) ((at - t) * 1000))));
                        }
                    }
                } catch (RuntimeException e) {
                    if (running.getAsBoolean()) {
                        log.debug("ETA mover ({}): {}", keys, e.toString());
                    }
                    failed = true;
                }
            }
            if (moved) {
                continue;
            }
            if (failed) {
                sleep = 500;
            }
            try {
                Thread.sleep(sleep);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    int moveDue(RedisKeys keys, double t) {
        RedisCommands<byte[], byte[]> bytes = redis.bytesConnectionFor(keys.scheduled()).sync();
        List<byte[]> due = bytes.zrangebyscore(b(keys.scheduled()),
                Range.from(Range.Boundary.unbounded(), Range.Boundary.including(t)), Limit.create(0, MOVE_BATCH));
        if (due.isEmpty()) {
            return 0;
        }
        UnackedRestorer.Targets targets = new UnackedRestorer.Targets(b(keys.scheduled()),
                b(keys.deadLetter(deadLetterKey)));
        List<byte[]> args = new ArrayList<>(1 + due.size() * 3);
        args.add(b(Double.toString(t)));
        for (byte[] member : due) {
            args.add(member);
            int[] at = parseMember(member);
            if (at == null) {
                args.add(b("0"));
                args.add(DeadLetterRecords.binary(codec, UUID.randomUUID().toString(), "", t,
                        "scheduled entry is not <length>:<list><message>; its value is kept (base64)", member));
            } else {
                byte[] list = Arrays.copyOfRange(member, at[0], at[0] + at[1]);
                args.add(b(Integer.toString(targets.index(list))));
                args.add(b(Integer.toString(at[0] + at[1])));
            }
        }
        Long moved = MOVE_DUE.run(bytes, ScriptOutputType.INTEGER, targets.keys(), args.toArray(byte[][]::new));
        return moved == null ? 0 : moved.intValue();
    }

    /** {start of the list key, its length} in a {@code celeriac.scheduled} member, or null if it does not parse. */
    static int @Nullable [] parseMember(byte[] member) {
        int colon = -1;
        for (int i = 0; i < Math.min(member.length, 11); i++) {
            if (member[i] == ':') {
                colon = i;
                break;
            }
            if (member[i] < '0' || member[i] > '9') {
                return null;
            }
        }
        if (colon <= 0) {
            return null;
        }
        long len = Long.parseLong(new String(member, 0, colon, StandardCharsets.US_ASCII));
        if (len <= 0 || colon + 1 + len > member.length) {
            return null;
        }
        return new int[] {colon + 1, (int) len};
    }

    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
