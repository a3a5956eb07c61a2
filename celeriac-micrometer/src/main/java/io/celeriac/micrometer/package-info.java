/** Worker and task metrics for Micrometer. */
@NullMarked
package io.celeriac.micrometer;

import org.jspecify.annotations.NullMarked;
