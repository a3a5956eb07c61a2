package io.celeriac.cli;

import picocli.CommandLine.Option;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** Options of every command that broadcasts and collects worker replies (inspect, control). */
final class ReplyOptions {
    @Option(names = {"-d", "--destination"}, split = ",", description = "Only these node names.")
    List<String> destination = new ArrayList<>();

    @Option(names = {"-t", "--timeout"}, defaultValue = "1.0", description = "Seconds to wait for replies.")
    double timeout;

    @Option(names = "--json", description = "Print the replies as one JSON object.")
    boolean json;

    Duration timeout() {
        return Duration.ofMillis(Math.round(timeout * 1000));
    }
}
