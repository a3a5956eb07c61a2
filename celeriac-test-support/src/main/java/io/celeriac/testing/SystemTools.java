package io.celeriac.testing;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The programs the launchers run, looked up before they are started: a missing one fails the test with one line
 * naming the Debian package that has it, instead of an {@code IOException} from deep inside {@code ProcessBuilder}.
 */
final class SystemTools {
    private SystemTools() {
    }

    /** Fails unless {@code program} (a name on the PATH, or an absolute path) can be run. */
    static void require(String program, String debianPackage) {
        if (!runnable(program)) {
            throw new IllegalStateException(program + " not found: the tests need Debian's " + debianPackage
                    + " (apt-get install " + debianPackage + ", or run bash scripts/run-tests.sh, which installs it)");
        }
    }

    private static boolean runnable(String program) {
        if (program.contains(File.separator)) {
            return Files.isExecutable(Path.of(program));
        }
        String path = System.getenv("PATH");
        for (String dir : (path == null ? "" : path).split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }
}
