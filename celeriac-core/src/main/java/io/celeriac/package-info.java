/**
 * The entry point: {@code Celeriac} and its {@code CeleriacConfig}, task routes, header providers and the root {@code
 * CeleriacException}.
 */
@NullMarked
package io.celeriac;

import org.jspecify.annotations.NullMarked;
