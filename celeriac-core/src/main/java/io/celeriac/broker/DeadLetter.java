package io.celeriac.broker;

import java.time.Instant;

/**
 * A message the worker could not execute, kept with the reason.
 *
 * @param id the dead-letter record's id
 * @param queue the queue the message came from
 * @param payload the raw envelope, unchanged, so it can be requeued after a fix
 * @param reason one line saying why
 * @param time when it was dead-lettered
 */
public record DeadLetter(String id, String queue, String payload, String reason, Instant time) {
}
