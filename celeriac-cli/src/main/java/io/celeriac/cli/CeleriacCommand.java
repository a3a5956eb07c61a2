package io.celeriac.cli;

import org.jspecify.annotations.Nullable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code celeriac} command; subcommands mirror Celery's CLI. */
@Command(name = "celeriac", mixinStandardHelpOptions = true, versionProvider = CeleriacCommand.Version.class,
        description = "Distributed task queue for the JVM, wire-compatible with Celery.",
        subcommands = {DemoCommand.class, WorkerCommand.class, CallCommand.class, ResultCommand.class,
                PurgeCommand.class, QueuesCommand.class, StatusCommand.class, InspectCommand.class,
                ControlCommand.class, EventsCommand.class, BeatCommand.class, ScheduleCommand.class, DashboardCommand.class,
                CommandLine.HelpCommand.class})
public final class CeleriacCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Exit status when the broker cannot be reached (sysexits' EX_UNAVAILABLE), so scripts can tell it apart. */
    static final int BROKER_UNAVAILABLE = 69;
    /** Exit status when the broker cannot do what the command needs (sysexits' EX_CONFIG): retrying will not help. */
    static final int UNSUPPORTED = 78;

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    static CommandLine commandLine() {
        CommandLine cli = new CommandLine(new CeleriacCommand());
        // A command that needs the broker and cannot reach it says so in one line, not with a stack trace.
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            if (e instanceof io.celeriac.broker.BrokerUnavailableException) {
                cmd.getErr().println("celeriac " + cmd.getCommandName() + ": " + e.getMessage());
                cmd.getErr().flush();
                return BROKER_UNAVAILABLE;
            }
            if (e instanceof UnsupportedOperationException) {
                // The broker lacks what the command needs (remote control, events): say which, no stack trace.
                cmd.getErr().println("celeriac " + cmd.getCommandName() + ": " + e.getMessage());
                cmd.getErr().flush();
                return UNSUPPORTED;
            }
            IllegalArgumentException config = configurationError(e);
            if (config != null) {
                // A setting that cannot work (a result backend the broker cannot be, an unknown URL scheme):
                // the reason in one line; nothing to retry.
                cmd.getErr().println("celeriac " + cmd.getCommandName() + ": " + config.getMessage());
                cmd.getErr().flush();
                return UNSUPPORTED;
            }
            throw e;
        });
        return cli;
    }

    /** The IllegalArgumentException in {@code e}'s causes, if building the app from the settings failed with one. */
    private static @Nullable IllegalArgumentException configurationError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof IllegalArgumentException iae && iae.getMessage() != null) {
                return iae;
            }
        }
        return null;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = CeleriacCommand.class.getPackage().getImplementationVersion();
            return new String[] {"celeriac " + (v == null ? "dev" : v) + " (Java " + Runtime.version() + ")"};
        }
    }
}
