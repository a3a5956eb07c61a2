/** The {@code ResultBackend} SPI, the stored result document and its codec, task states, and the in-memory backend. */
@NullMarked
package io.celeriac.backend;

import org.jspecify.annotations.NullMarked;
