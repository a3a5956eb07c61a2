package io.celeriac.protocol;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class TaskEventsJsonTest {
    private final MessageCodec codec = new MessageCodec();

    /** What the events were before they were written directly: maps written by the general writer. */
    @Test
    void writesWhatTheMapsOfCelerysEventsWouldHaveBeen() {
        TaskEventsJson json = new TaskEventsJson(codec, "w\"1@h\\ost", 4242);
        AtomicLong clock = new AtomicLong(10);
        byte[] bytes = json.write(List.of(
                new TaskEventsJson.Event("task-received", "id-\u00e9\"1", 1_765_012_345_678L, "name", "t.add",
                        "args", "(2, 'x\u2603')", "kwargs", "{}", "root_id", null, "retries", 0, "eta", null),
                new TaskEventsJson.Event("task-started", "id-2", 1_765_012_345_000L),
                new TaskEventsJson.Event("task-succeeded", "id-3", 1_765_012_345_070L, "result", "5",
                        "runtime", 0.000123, "terminated", true)), -1, clock::incrementAndGet);

        Object back = codec.readJson(new String(bytes, StandardCharsets.UTF_8));
        Map<String, Object> received = event("task-received", "id-\u00e9\"1", 1765012345.678, 11);
        received.put("name", "t.add");
        received.put("args", "(2, 'x\u2603')");
        received.put("kwargs", "{}");
        received.put("root_id", null);
        received.put("retries", 0);
        received.put("eta", null);
        Map<String, Object> started = event("task-started", "id-2", 1765012345.0, 12);
        Map<String, Object> succeeded = event("task-succeeded", "id-3", 1765012345.07, 13);
        succeeded.put("result", "5");
        succeeded.put("runtime", 0.000123);
        succeeded.put("terminated", true);
        assertThat(back).isEqualTo(List.of(received, started, succeeded));
        // Field by field in Celery's order, as the general writer wrote the maps; timestamps are spelt as Python's
        // json.dumps(time.time()) spells them rather than as Double.toString does (the same doubles, checked above).
        assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo(codec.writeJson(List.of(received, started,
                succeeded)).replace("1.765012345678E9", "1765012345.678").replace("1.765012345E9", "1765012345.0")
                .replace("1.76501234507E9", "1765012345.07"));
    }

    @Test
    void anEmptyBatchIsAnEmptyList() {
        byte[] bytes = new TaskEventsJson(codec, "h", 1).write(List.of(), 0, () -> 1);
        assertThat(new String(bytes, StandardCharsets.UTF_8)).isEqualTo("[]");
    }

    /** The timestamp's text reads back as the double Celery's float would be: millis / 1000. */
    @Property(tries = 5_000)
    void secondsReadBackAsMillisOverAThousand(@ForAll @LongRange(min = 0, max = 32_503_680_000_000L) long millis) {
        String text = TaskEventsJson.seconds(millis);
        assertThat(Double.parseDouble(text)).isEqualTo(millis / 1000.0);
        assertThat(text).contains(".").doesNotEndWith("0.").matches("\\d+\\.(0|\\d*[1-9])");
    }

    private static Map<String, Object> event(String type, String uuid, double timestamp, int clock) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("hostname", "w\"1@h\\ost");
        e.put("utcoffset", -1);
        e.put("pid", 4242);
        e.put("clock", clock);
        e.put("uuid", uuid);
        e.put("timestamp", timestamp);
        e.put("type", type);
        return e;
    }
}
