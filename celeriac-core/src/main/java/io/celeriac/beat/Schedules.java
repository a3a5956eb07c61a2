package io.celeriac.beat;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;

/** Reads the text forms of {@link Schedule#spec()}: {@code every 30s}, {@code crontab m h dom mon dow [zone]}, {@code at <instant>}. */
public final class Schedules {
    private Schedules() {
    }

    public static Schedule parse(String spec, ZoneId defaultZone) {
        String s = spec.trim();
        if (s.startsWith("every ")) {
            return IntervalSchedule.every(duration(s.substring(6).trim()));
        }
        if (s.startsWith("at ")) {
            return new ClockedSchedule(Instant.parse(s.substring(3).trim()));
        }
        if (s.startsWith("crontab ")) {
            String[] f = s.substring(8).trim().split("\\s+");
            if (f.length != 5 && f.length != 6) {
                throw new IllegalArgumentException("crontab needs 5 fields (m h dom mon dow) and an optional zone: "
                        + spec);
            }
            ZoneId zone = f.length == 6 ? ZoneId.of(f[5]) : defaultZone;
            return new CrontabSchedule(f[0], f[1], f[4], f[2], f[3], zone);
        }
        throw new IllegalArgumentException("unknown schedule '" + spec + "': use 'every 30s', "
                + "'crontab 30 2 * * *', or 'at 2030-01-01T00:00:00Z'");
    }

    /** {@code 30s}, {@code 5m}, {@code 2h}, {@code 1d}, {@code 250ms}, or plain seconds. */
    static Duration duration(String text) {
        String t = text.toLowerCase();
        if (t.endsWith("ms")) {
            return Duration.ofMillis(Long.parseLong(t.substring(0, t.length() - 2)));
        }
        char unit = t.charAt(t.length() - 1);
        String n = Character.isDigit(unit) ? t : t.substring(0, t.length() - 1);
        double v = Double.parseDouble(n);
        long ms = switch (unit) {
            case 'm' -> Math.round(v * 60_000);
            case 'h' -> Math.round(v * 3_600_000);
            case 'd' -> Math.round(v * 86_400_000);
            default -> Math.round(v * 1000);
        };
        return Duration.ofMillis(ms);
    }
}
