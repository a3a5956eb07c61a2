/** The worker: consumer, prefetch window, pool, time and rate limits, retries, events and remote control. */
@NullMarked
package io.celeriac.worker;

import org.jspecify.annotations.NullMarked;
