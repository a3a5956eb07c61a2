package io.celeriac.protocol;

import org.jspecify.annotations.Nullable;

import java.util.List;
import java.util.function.LongSupplier;

/**
 * Writes a batch of Celery task events (the body of a {@code task.multi} message) straight to JSON bytes. With events
 * on, a worker sends three events a task; building each as a map and writing the maps through the general writer
 * slowed a busy worker's drain by about a quarter on two cores. Here what every event of a worker shares (hostname,
 * utcoffset, pid) is written once per batch as a ready-made fragment, timestamps are written from milliseconds without
 * formatting a double, and only the fields that differ go through the generator. Thread-safe.
 */
public final class TaskEventsJson {
    /**
     * One task event: its type, task id, time, and the fields of its type as name, value pairs (values plain JSON:
     * strings, numbers, booleans, null).
     */
    public record Event(String type, String uuid, long timestampMillis, @Nullable Object... fields) {
    }

    private final MessageCodec codec;
    private final String hostname;
    private final long pid;

    public TaskEventsJson(MessageCodec codec, String hostname, long pid) {
        this.codec = codec;
        this.hostname = hostname;
        this.pid = pid;
    }

    /**
     * The events as a JSON list, each stamped with the next value of {@code clock} (Celery's Lamport clock), in the
     * shape of Celery's events: {@code hostname, utcoffset, pid, clock, uuid, timestamp, type} and the type's fields.
     */
    public byte[] write(List<Event> events, int utcoffset, LongSupplier clock) {
        // The shared fields, with the comma that follows them: written raw after each object's start, so the
        // generator, which has not seen them, writes the next field name without a comma of its own.
        String shared = "\"hostname\":" + codec.writeJson(hostname) + ",\"utcoffset\":" + utcoffset + ",\"pid\":" + pid
                + ",";
        return codec.writeBytes(g -> {
            g.writeStartArray();
            for (Event e : events) {
                g.writeStartObject();
                g.writeRaw(shared);
                g.writeNumberField("clock", clock.getAsLong());
                g.writeStringField("uuid", e.uuid());
                g.writeFieldName("timestamp");
                g.writeNumber(seconds(e.timestampMillis()));
                g.writeStringField("type", e.type());
                Object[] fields = e.fields();
                for (int i = 0; i + 1 < fields.length; i += 2) {
                    g.writeFieldName((String) fields[i]);
                    codec.writeValue(g, fields[i + 1]);
                }
                g.writeEndObject();
            }
            g.writeEndArray();
        });
    }

    /**
     * Seconds as Celery writes {@code time.time()}, from milliseconds: "1765012345.678" is the JSON text of the
     * double nearest to millis / 1000, which is what Double.toString would print the long way.
     */
    static String seconds(long millis) {
        if (millis < 0) {
            return Double.toString(millis / 1000.0); // not a time a worker sees: written the long way
        }
        long whole = Math.floorDiv(millis, 1000);
        int frac = (int) Math.floorMod(millis, 1000);
        if (frac == 0) {
            return whole + ".0";
        }
        String digits = frac < 10 ? "00" + frac : frac < 100 ? "0" + frac : Integer.toString(frac);
        int end = digits.length();
        while (digits.charAt(end - 1) == '0') {
            end--;
        }
        return whole + "." + digits.substring(0, end);
    }
}
