package io.celeriac.redis.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The run logs of the fleet fault test read back ({@code worker-<n>.log}, written by {@link FleetTasks}): every run
 * of every task, and which repeated runs a SIGKILL explains.
 */
public final class FleetRuns {
    private static final Pattern FILE = Pattern.compile("worker-(\\d+)\\.log");

    /** One run of a task on worker number {@code worker}; {@code end} is -1 when the run never reached its end. */
    public record Run(String task, int worker, long pid, long start, long end) {
        public boolean ended() {
            return end >= 0;
        }
    }

    /**
     * A run that came after {@code earlier} although the process of {@code earlier} had not been killed before
     * {@code later} started ({@code earlierKilledAt} is that kill's epoch ms, or null if it was never killed).
     */
    public record Unexplained(Run earlier, Run later, Long earlierKilledAt) {
    }

    private final Map<String, List<Run>> byTask;
    private final Map<Integer, String> consumers;
    private final List<String> anomalies;
    private final int runs;

    private FleetRuns(Map<String, List<Run>> byTask, Map<Integer, String> consumers, List<String> anomalies) {
        this.byTask = byTask;
        this.consumers = consumers;
        this.anomalies = anomalies;
        this.runs = byTask.values().stream().mapToInt(List::size).sum();
    }

    /** Reads every {@code worker-<n>.log} in {@code dir}. */
    public static FleetRuns read(Path dir) throws IOException {
        Map<Integer, String> logs = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Matcher m = FILE.matcher(f.getFileName().toString());
                if (m.matches()) {
                    logs.put(Integer.parseInt(m.group(1)), Files.readString(f, StandardCharsets.US_ASCII));
                }
            }
        }
        return parse(logs);
    }

    /** Parses run logs given as worker number to file content. */
    public static FleetRuns parse(Map<Integer, String> logs) {
        Map<String, List<Run>> byTask = new HashMap<>();
        Map<Integer, String> consumers = new TreeMap<>();
        List<String> anomalies = new ArrayList<>();
        for (Map.Entry<Integer, String> log : logs.entrySet()) {
            int worker = log.getKey();
            String text = log.getValue();
            // A log may only end mid-line if its process was killed inside a write(); that line is dropped.
            int complete = text.lastIndexOf('\n') + 1;
            // Open runs of this process per task, oldest first: an end closes the oldest, so a task this very
            // process was handed twice still pairs up.
            Map<String, Deque<long[]>> open = new LinkedHashMap<>();
            for (String line : text.substring(0, complete).split("\n")) {
                if (line.isEmpty()) {
                    continue;
                }
                String[] f = line.split(" ");
                if (f.length != 4) {
                    anomalies.add("worker-" + worker + ".log: unreadable line '" + line + "'");
                    continue;
                }
                long pid;
                long time;
                try {
                    pid = Long.parseLong(f[2]);
                    time = Long.parseLong(f[3]);
                } catch (NumberFormatException e) {
                    anomalies.add("worker-" + worker + ".log: unreadable line '" + line + "'");
                    continue;
                }
                switch (f[0]) {
                    case "hello" -> consumers.put(worker, f[1]);
                    case "start" -> open.computeIfAbsent(f[1], k -> new ArrayDeque<>()).add(new long[] {pid, time});
                    case "end" -> {
                        Deque<long[]> starts = open.get(f[1]);
                        long[] s = starts == null ? null : starts.poll();
                        if (s == null) {
                            anomalies.add("worker-" + worker + ".log: end of " + f[1] + " without a start");
                        } else {
                            byTask.computeIfAbsent(f[1], k -> new ArrayList<>())
                                    .add(new Run(f[1], worker, s[0], s[1], time));
                        }
                    }
                    default -> anomalies.add("worker-" + worker + ".log: unreadable line '" + line + "'");
                }
            }
            open.forEach((task, starts) -> starts.forEach(s -> byTask.computeIfAbsent(task, k -> new ArrayList<>())
                    .add(new Run(task, worker, s[0], s[1], -1))));
        }
        Comparator<Run> order = Comparator.comparingLong(Run::start).thenComparingLong(Run::end);
        byTask.values().forEach(l -> l.sort(order));
        return new FleetRuns(byTask, consumers, anomalies);
    }

    /** Ids of every task that started at least once. */
    public Set<String> tasks() {
        return byTask.keySet();
    }

    /** The runs of {@code task} in order of their start; empty if it never started. */
    public List<Run> runs(String task) {
        return byTask.getOrDefault(task, List.of());
    }

    /** Whether some run of {@code task} reached its end. */
    public boolean ended(String task) {
        return runs(task).stream().anyMatch(Run::ended);
    }

    /** All runs, of all tasks. */
    public int runCount() {
        return runs;
    }

    /** Runs beyond the first of their task. */
    public int repeats() {
        return runs - byTask.size();
    }

    /** Runs that never reached their end (their process was killed during them). */
    public int interrupted() {
        return (int) byTask.values().stream().flatMap(List::stream).filter(r -> !r.ended()).count();
    }

    /** The broker consumer id each worker process logged at start. */
    public Map<Integer, String> consumers() {
        return consumers;
    }

    /** Lines that should not be there: unreadable, or an end without its start. */
    public List<String> anomalies() {
        return anomalies;
    }

    /**
     * Every repeated run that a kill does not explain. With acks late a message may come back only once its
     * holder is dead, so each run after the first of a task must start after the process of the run before it was
     * SIGKILLed ({@code killedAt}: worker number to the epoch ms the test noted just before sending the signal).
     * A repeat on a worker that was alive, or killed only later, is a duplicate the broker or worker caused.
     */
    public List<Unexplained> unexplainedRepeats(Map<Integer, Long> killedAt) {
        List<Unexplained> out = new ArrayList<>();
        for (List<Run> runs : byTask.values()) {
            for (int i = 1; i < runs.size(); i++) {
                Run earlier = runs.get(i - 1);
                Run later = runs.get(i);
                Long killed = killedAt.get(earlier.worker());
                if (killed == null || later.start() < killed) {
                    out.add(new Unexplained(earlier, later, killed));
                }
            }
        }
        out.sort(Comparator.comparingLong(u -> u.later().start()));
        return out;
    }
}
