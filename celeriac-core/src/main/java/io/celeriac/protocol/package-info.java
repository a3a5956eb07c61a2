/** Celery's message protocol v2, the kombu envelope and their JSON codec; the only package that knows the JSON. */
@NullMarked
package io.celeriac.protocol;

import org.jspecify.annotations.NullMarked;
