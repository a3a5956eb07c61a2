/** Turns chains, groups and chords into the task messages that carry them, as Celery lays them out. */
@NullMarked
package io.celeriac.canvas;

import org.jspecify.annotations.NullMarked;
