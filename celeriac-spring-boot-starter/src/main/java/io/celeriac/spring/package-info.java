/** Spring Boot auto-configuration for Celeriac: properties, task beans and health indicators. */
@NullMarked
package io.celeriac.spring;

import org.jspecify.annotations.NullMarked;
