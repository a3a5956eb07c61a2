/** The web dashboard (Flower's job): task history, workers, queues, charts, schedules and dead letters, over HTTP. */
@NullMarked
package io.celeriac.dashboard;

import org.jspecify.annotations.NullMarked;
