package io.celeriac.testing;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SystemToolsTest {
    @Test
    void aMissingProgramNamesItsDebianPackage() {
        assertThatThrownBy(() -> SystemTools.require("celeriac-no-such-program", "celeriac-no-such-package"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("celeriac-no-such-program not found: the tests need Debian's celeriac-no-such-package "
                        + "(apt-get install celeriac-no-such-package, or run bash scripts/run-tests.sh, which "
                        + "installs it)");
        assertThatThrownBy(() -> SystemTools.require("/no/such/dir/redis-server", "redis-server"))
                .hasMessageContaining("apt-get install redis-server");
    }

    @Test
    void aProgramOnThePathPasses() {
        assertThatCode(() -> SystemTools.require("sh", "dash")).doesNotThrowAnyException();
        assertThatCode(() -> SystemTools.require("/bin/sh", "dash")).doesNotThrowAnyException();
    }
}
