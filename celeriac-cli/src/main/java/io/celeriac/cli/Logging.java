package io.celeriac.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** {@code -l/--loglevel} with Celery's level names. */
final class Logging {
    private Logging() {
    }

    static void setLevel(String celeryLevel) {
        String name = celeryLevel.toUpperCase(java.util.Locale.ROOT);
        Level level = switch (name) {
            case "WARNING" -> Level.WARN;
            case "CRITICAL", "FATAL" -> Level.ERROR;
            default -> Level.toLevel(name, Level.INFO);
        };
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).setLevel(level);
    }
}
