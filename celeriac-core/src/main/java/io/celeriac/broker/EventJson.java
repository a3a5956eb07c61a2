package io.celeriac.broker;

import io.celeriac.protocol.MessageCodec;

/** The codec {@link EventBus#publishJson}'s default reads events back with. */
final class EventJson {
    static final MessageCodec CODEC = new MessageCodec();

    private EventJson() {
    }
}
