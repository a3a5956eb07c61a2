/**
 * Tasks and how they are called: {@code @Task}, the registry, signatures and canvases, send options, {@code
 * AsyncResult} and the task failures.
 */
@NullMarked
package io.celeriac.task;

import org.jspecify.annotations.NullMarked;
