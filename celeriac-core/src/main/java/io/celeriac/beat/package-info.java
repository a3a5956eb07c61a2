/**
 * Beat, the periodic-task scheduler: schedules (interval, crontab, clocked), entries and the {@code ScheduleStore} SPI.
 */
@NullMarked
package io.celeriac.beat;

import org.jspecify.annotations.NullMarked;
