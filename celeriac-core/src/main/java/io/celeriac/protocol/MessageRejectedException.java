package io.celeriac.protocol;

import io.celeriac.CeleriacException;

/**
 * A message that cannot be executed as it is: malformed JSON, protocol v1, a serializer other than JSON (pickle,
 * yaml), a missing required header. The worker sends such a message to the dead-letter queue with {@link #reason()}.
 */
public class MessageRejectedException extends CeleriacException {
    private final String reason;

    public MessageRejectedException(String reason) {
        super(reason);
        this.reason = reason;
    }

    public MessageRejectedException(String reason, Throwable cause) {
        super(reason, cause);
        this.reason = reason;
    }

    /** One line saying why, written into the dead-letter record. */
    public String reason() {
        return reason;
    }
}
