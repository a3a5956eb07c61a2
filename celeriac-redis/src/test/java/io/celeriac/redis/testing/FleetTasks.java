package io.celeriac.redis.testing;

import io.celeriac.task.Task;
import io.celeriac.task.TaskContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The task of the fleet fault test. Every run writes {@code start <task id> <pid> <epoch ms>} before its work and
 * {@code end <task id> <pid> <epoch ms>} after it to a run log of its own, so the test counts runs without trusting
 * the result backend or the broker it is testing.
 */
public final class FleetTasks {
    private final FileChannel log;
    private final long pid = ProcessHandle.current().pid();

    /** Appends to {@code runLog}, creating it if needed. */
    public FleetTasks(Path runLog) throws IOException {
        // O_APPEND and one write() per line with no buffer in front: once write() returns, the line is in the
        // kernel's page cache and survives a SIGKILL of this JVM a microsecond later.
        this.log = FileChannel.open(runLog, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.APPEND);
    }

    @Task(name = "fleet.run", acksLate = Task.Toggle.ON)
    public int run(TaskContext ctx, int millis) throws InterruptedException {
        record("start", ctx.id());
        // Long enough that a kill finds tasks mid-run, short enough for thousands of them in a minute.
        Thread.sleep(millis);
        record("end", ctx.id());
        return millis;
    }

    /** A chord part of the chord fault test: returns its index after {@code millis}. */
    @Task(name = "fleet.part", acksLate = Task.Toggle.ON)
    public int part(TaskContext ctx, int index, int millis) throws InterruptedException {
        record("start", ctx.id());
        Thread.sleep(millis);
        record("end", ctx.id());
        return index;
    }

    /**
     * A chord body of the chord fault test: records {@code body <task id>:<count>:<in order>} and returns the count.
     */
    @Task(name = "fleet.collect", acksLate = Task.Toggle.ON)
    public int collect(TaskContext ctx, java.util.List<Integer> indexes) {
        boolean inOrder = true;
        for (int i = 0; i < indexes.size(); i++) {
            inOrder &= indexes.get(i) == i;
        }
        record("body", ctx.id() + ":" + indexes.size() + ":" + inOrder);
        return indexes.size();
    }

    /** Appends {@code <what> <detail> <pid> <epoch ms>}; {@code detail} must not contain spaces. */
    public void record(String what, String detail) {
        ByteBuffer line = ByteBuffer.wrap((what + " " + detail + " " + pid + " " + System.currentTimeMillis() + "\n")
                .getBytes(StandardCharsets.US_ASCII));
        try {
            // FileChannel serialises writers within the JVM; the loop only matters for a short write, which a
            // regular file does not produce in practice.
            while (line.hasRemaining()) {
                log.write(line);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the run log", e);
        }
    }
}
