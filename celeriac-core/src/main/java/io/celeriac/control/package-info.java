/** The remote-control (pidbox) command message Celery's workers receive. */
@NullMarked
package io.celeriac.control;

import org.jspecify.annotations.NullMarked;
