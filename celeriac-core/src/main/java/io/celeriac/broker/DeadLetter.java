package io.celeriac.broker;

import io.celeriac.protocol.BrokerMessage;

import java.time.Instant;
import org.jspecify.annotations.Nullable;

/**
 * A message the worker could not execute, kept with the reason.
 *
 * @param id the dead-letter record's id
 * @param queue the queue the message came from
 * @param reason one line saying why
 * @param time when it was dead-lettered
 * @param message the message, unchanged, so it can be requeued after a fix; null when the stored bytes do not read as
 *     a message (not an envelope, not UTF-8), which only {@code raw} then shows
 * @param raw the message as the broker stores it, for display (kombu's JSON envelope on Redis; bytes that are not
 *     UTF-8 base64-encoded)
 */
public record DeadLetter(String id, String queue, String reason, Instant time, @Nullable BrokerMessage message,
                         String raw) {
}
