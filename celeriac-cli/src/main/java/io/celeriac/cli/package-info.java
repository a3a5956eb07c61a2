/** The {@code celeriac} command line: a class per subcommand and the options they share. */
@NullMarked
package io.celeriac.cli;

import org.jspecify.annotations.NullMarked;
