/** Reports task failures to Sentry. */
@NullMarked
package io.celeriac.sentry;

import org.jspecify.annotations.NullMarked;
