package io.celeriac.cli;

import org.jspecify.annotations.Nullable;
import picocli.CommandLine.Option;

/** {@code -l/--loglevel}, shared by the long-running commands ({@code worker}, {@code beat}, {@code dashboard}). */
final class LogLevelOption {
    @Option(names = {"-l", "--loglevel"}, description = "DEBUG, INFO, WARNING, ERROR.")
    @Nullable String level;

    /** Sets the level given, if any. */
    void apply() {
        if (level != null) {
            Logging.setLevel(level);
        }
    }
}
