/** Redis as broker, result backend, schedule store, event bus and pidbox, in Celery's and kombu's key layout. */
@NullMarked
package io.celeriac.redis;

import org.jspecify.annotations.NullMarked;
