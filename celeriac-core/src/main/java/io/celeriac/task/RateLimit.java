package io.celeriac.task;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A rate in Celery's notation: {@code "10/s"}, {@code "100/m"}, {@code "1000/h"}, or a bare number meaning per
 * second. Applied per worker, like Celery's {@code rate_limit}.
 */
public record RateLimit(double tasks, Duration per) {
    private static final Pattern FORMAT = Pattern.compile("\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(?:/\\s*([smh]))?\\s*");

    public RateLimit {
        if (!(tasks > 0)) {
            throw new IllegalArgumentException("rate limit must be positive, was " + tasks);
        }
    }

    public static RateLimit parse(String text) {
        Matcher m = FORMAT.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("rate limit '" + text + "' is not of the form N/s, N/m or N/h");
        }
        double n = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        Duration per = switch (unit) {
            case "m" -> Duration.ofMinutes(1);
            case "h" -> Duration.ofHours(1);
            default -> Duration.ofSeconds(1);
        };
        return new RateLimit(n, per);
    }

    /** Tokens added per second. */
    public double perSecond() {
        return tasks / (per.toNanos() / 1e9);
    }

    @Override
    public String toString() {
        String unit = per.equals(Duration.ofHours(1)) ? "h" : per.equals(Duration.ofMinutes(1)) ? "m" : "s";
        String n = tasks == Math.rint(tasks) ? Long.toString((long) tasks) : Double.toString(tasks);
        return n + "/" + unit;
    }
}
