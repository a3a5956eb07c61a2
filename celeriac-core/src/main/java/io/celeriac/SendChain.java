package io.celeriac;

import io.celeriac.broker.OutboundMessage;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * An app's {@link SendInterceptor}s in front of its publishing: each send passes through them in order, and the last
 * {@code proceed()} publishes. Kept apart from {@link Celeriac} so that the app's send paths each make one call here.
 * Thread-safe.
 */
final class SendChain {
    private final List<SendInterceptor> interceptors;
    /** How deep the current thread is in {@link #now}: sends made there skip the interceptors. */
    private final ThreadLocal<int[]> immediate = ThreadLocal.withInitial(() -> new int[1]);

    SendChain(List<SendInterceptor> interceptors) {
        this.interceptors = List.copyOf(interceptors);
    }

    /**
     * Hands a send to the interceptors, or runs {@code publish} at once when there are none or the thread is inside
     * {@link #now}.
     *
     * @param onceKey a unique task's key, null for other sends
     * @param publish what the app does to publish the send (with its retry policy)
     */
    void dispatch(List<OutboundMessage> messages, @Nullable String onceKey, Duration onceKeep, Runnable publish) {
        if (interceptors.isEmpty() || immediate.get()[0] > 0) {
            publish.run();
            return;
        }
        new Link(0, List.copyOf(messages), onceKey, onceKeep, publish).intercept();
    }

    <T extends @Nullable Object> T now(Supplier<T> sends) {
        int[] depth = immediate.get();
        depth[0]++;
        try {
            return sends.get();
        } finally {
            depth[0]--;
        }
    }

    /** The send as interceptor {@code index} sees it; its {@code proceed} is the next interceptor, or the publish. */
    private final class Link implements SendInterceptor.Send {
        private final int index;
        private final List<OutboundMessage> messages;
        private final @Nullable String onceKey;
        private final Duration onceKeep;
        private final Runnable publish;
        private final AtomicBoolean proceeded = new AtomicBoolean();

        Link(int index, List<OutboundMessage> messages, @Nullable String onceKey, Duration onceKeep,
             Runnable publish) {
            this.index = index;
            this.messages = messages;
            this.onceKey = onceKey;
            this.onceKeep = onceKeep;
            this.publish = publish;
        }

        void intercept() {
            interceptors.get(index).intercept(this);
        }

        @Override
        public List<OutboundMessage> messages() {
            return messages;
        }

        @Override
        public Optional<String> onceKey() {
            return Optional.ofNullable(onceKey);
        }

        @Override
        public Duration onceKeep() {
            return onceKeep;
        }

        @Override
        public void proceed() {
            // why once: an interceptor that published twice would send the task twice, under the same id.
            if (!proceeded.compareAndSet(false, true)) {
                throw new IllegalStateException("proceed() called twice for the send of " + taskIds());
            }
            if (index + 1 < interceptors.size()) {
                new Link(index + 1, messages, onceKey, onceKeep, publish).intercept();
            } else {
                publish.run();
            }
        }

        private List<@Nullable String> taskIds() {
            return messages.stream().map(OutboundMessage::taskId).toList();
        }

        @Override
        public String toString() {
            return "Send" + taskIds();
        }
    }
}
