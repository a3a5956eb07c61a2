/**
 * The {@code Broker} SPI with deliveries, event and control buses, the dead-letter queue and the once-only dispatch
 * ledger, plus the in-memory broker.
 */
@NullMarked
package io.celeriac.broker;

import org.jspecify.annotations.NullMarked;
