package io.celeriac.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** Settings that cannot work are reported in one line with EX_CONFIG, not as a stack trace. */
class CeleriacCommandTest {
    @Test
    void aResultBackendTheBrokerCannotBeIsOneLineAndExitStatus78() {
        StringWriter err = new StringWriter();
        CommandLine cli = CeleriacCommand.commandLine();
        cli.setErr(new PrintWriter(err));
        // RabbitMQ as the broker and, by default, as the result backend: refused before anything connects.
        int status = cli.execute("queues", "celery", "-b", "amqp://guest:guest@127.0.0.1:1//");
        assertThat(status).isEqualTo(CeleriacCommand.UNSUPPORTED);
        assertThat(err.toString()).startsWith("celeriac queues: ").contains("rpc://").doesNotContain("\tat ");
        assertThat(err.toString().strip().lines()).hasSize(1);
    }
}
