package io.celeriac.broker;

import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.BrokerMessage;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/**
 * A broker inside the JVM, for {@code celeriac demo}, single-process apps and users' unit tests. It follows the
 * same rules as the Redis broker (priority steps 0/3/6/9 served lowest first, queues served in turn, ETA messages
 * held until due, unacked deliveries kept until acked) but keeps nothing when the process ends.
 *
 * <p>{@link #connect()} opens another handle on the same store, as a second process would open a second connection
 * to one Redis: each handle is a consumer, and closing one gives its unacked deliveries back to their queues, as a
 * dead consumer's messages come back on a real broker. That is what the broker contract suite's kills exercise.
 */
public final class InMemoryBroker implements Broker {
    private static final int[] STEPS = PriorityLists.STEPS;

    private record Scheduled(Instant eta, String queue, int priority, BrokerMessage message, long seq) {
    }

    private record Held(Delivery delivery, InMemoryBroker owner) {
    }

    /** Everything the handles share: what one broker server holds. */
    private static final class Store {
        final ReentrantLock lock = new ReentrantLock();
        final Condition available = lock.newCondition();
        final Map<String, Deque<BrokerMessage>> lists = new HashMap<>();
        final Map<String, Held> unacked = new LinkedHashMap<>();
        final PriorityQueue<Scheduled> scheduled = new PriorityQueue<>(
                (a, b) -> a.eta.equals(b.eta) ? Long.compare(a.seq, b.seq) : a.eta.compareTo(b.eta));
        final Deque<DeadLetter> deadLetters = new ArrayDeque<>();
        final Map<String, Instant> onceKeys = new HashMap<>();
        final List<Consumer<ControlMessage>> listeners = new CopyOnWriteArrayList<>();
        final List<Consumer<Map<String, Object>>> eventListeners = new CopyOnWriteArrayList<>();
        final Map<String, java.util.concurrent.BlockingQueue<Map<String, Object>>> replies =
                new java.util.concurrent.ConcurrentHashMap<>();
        final ExecutorService broadcaster = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "celeriac-memory-broadcast");
            t.setDaemon(true);
            return t;
        });
        final Clock clock;
        long seq;
        int open;

        Store(Clock clock) {
            this.clock = clock;
        }
    }

    private final Store store;
    private final ReentrantLock lock;
    private final Condition available;
    private final Map<String, Deque<BrokerMessage>> lists;
    private final Map<String, Held> unacked;
    private final PriorityQueue<Scheduled> scheduled;
    private final Deque<DeadLetter> deadLetters;
    private final List<Consumer<ControlMessage>> listeners;
    private final List<Consumer<Map<String, Object>>> eventListeners;
    private final Map<String, java.util.concurrent.BlockingQueue<Map<String, Object>>> replies;
    private final ExecutorService broadcaster;
    private final Clock clock;
    /** kombu's queue cycle: the queue that delivered last goes to the end of the serving order. */
    private final List<String> cycle = new ArrayList<>();
    private volatile boolean closed;

    public InMemoryBroker() {
        this(Clock.systemUTC());
    }

    public InMemoryBroker(Clock clock) {
        this(new Store(clock));
    }

    private InMemoryBroker(Store store) {
        this.store = store;
        this.lock = store.lock;
        this.available = store.available;
        this.lists = store.lists;
        this.unacked = store.unacked;
        this.scheduled = store.scheduled;
        this.deadLetters = store.deadLetters;
        this.listeners = store.listeners;
        this.eventListeners = store.eventListeners;
        this.replies = store.replies;
        this.broadcaster = store.broadcaster;
        this.clock = store.clock;
        lock.lock();
        try {
            store.open++;
        } finally {
            lock.unlock();
        }
    }

    /** Another handle on the same store: a second consumer, as a second connection to one server. */
    public InMemoryBroker connect() {
        ensureOpen();
        return new InMemoryBroker(store);
    }

    private static int step(int priority) {
        return PriorityLists.step(priority);
    }

    private static String key(String queue, int step) {
        return PriorityLists.listKey(queue, step);
    }

    @Override
    public void publish(List<OutboundMessage> messages) {
        ensureOpen();
        lock.lock();
        try {
            Instant now = clock.instant();
            for (OutboundMessage m : messages) {
                if (m.eta() != null && m.eta().isAfter(now)) {
                    scheduled.add(new Scheduled(m.eta(), m.queue(), m.priority(), m.message(), store.seq++));
                } else {
                    list(m.queue(), step(m.priority())).addFirst(m.message());
                }
            }
            available.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private final class Once implements OnceDispatch {
        @Override
        public boolean publishOnce(String onceKey, Duration keep, OutboundMessage message) {
            ensureOpen();
            lock.lock();
            try {
                Instant now = clock.instant();
                Instant until = store.onceKeys.get(onceKey);
                if (until != null && until.isAfter(now)) {
                    return false;
                }
                store.onceKeys.put(onceKey, now.plus(keep));
                publish(List.of(message));
                return true;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void forget(String onceKey) {
            lock.lock();
            try {
                store.onceKeys.remove(onceKey);
            } finally {
                lock.unlock();
            }
        }
    }

    private Deque<BrokerMessage> list(String queue, int step) {
        return lists.computeIfAbsent(key(queue, step), k -> new ArrayDeque<>());
    }

    @Override
    public List<Delivery> reserve(List<String> queues, int max, Duration wait) throws InterruptedException {
        long deadline = System.nanoTime() + wait.toNanos();
        lock.lockInterruptibly();
        try {
            while (true) {
                ensureOpen();
                moveDue();
                List<Delivery> out = takeInTurn(queues, max);
                long left = deadline - System.nanoTime();
                if (!out.isEmpty() || left <= 0) {
                    return out;
                }
                Scheduled next = scheduled.peek();
                if (next != null) {
                    long untilDue = Duration.between(clock.instant(), next.eta).toNanos();
                    left = Math.max(1, Math.min(left, untilDue));
                }
                available.awaitNanos(left);
            }
        } finally {
            lock.unlock();
        }
    }

    /**
     * One message at a time, as kombu's Redis transport takes them: the lowest priority step of any queue first,
     * and among queues with a message at that step the one that delivered longest ago (kombu's queue cycle), so a
     * busy queue never starves the others.
     */
    private List<Delivery> takeInTurn(List<String> queues, int max) {
        cycle.retainAll(queues);
        for (String q : queues) {
            if (!cycle.contains(q)) {
                cycle.add(q);
            }
        }
        List<Delivery> out = new ArrayList<>();
        while (out.size() < max) {
            Delivery d = takeOne();
            if (d == null) {
                break;
            }
            out.add(d);
        }
        return out;
    }

    private @Nullable Delivery takeOne() {
        for (int step : STEPS) {
            for (int i = 0; i < cycle.size(); i++) {
                String q = cycle.get(i);
                Deque<BrokerMessage> l = lists.get(key(q, step));
                if (l != null && !l.isEmpty()) {
                    Delivery d = Delivery.of(q, l.pollLast(), UUID.randomUUID().toString(), step);
                    unacked.put(d.ackToken(), new Held(d, this));
                    cycle.remove(i);
                    cycle.add(q);
                    return d;
                }
            }
        }
        return null;
    }

    private void moveDue() {
        Instant now = clock.instant();
        while (!scheduled.isEmpty() && !scheduled.peek().eta.isAfter(now)) {
            Scheduled s = scheduled.poll();
            list(s.queue, step(s.priority)).addFirst(s.message);
        }
    }

    @Override
    public void ack(Collection<Delivery> deliveries) {
        lock.lock();
        try {
            for (Delivery d : deliveries) {
                unacked.remove(d.ackToken());
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void requeue(Collection<Delivery> deliveries) {
        lock.lock();
        try {
            for (Delivery d : deliveries) {
                if (unacked.remove(d.ackToken()) != null) {
                    list(d.queue(), d.priority()).addLast(d.message());
                }
            }
            available.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Returns every unacked delivery of every handle to its queue, as after a crash of all consumers. */
    public int restoreUnacked() {
        lock.lock();
        try {
            List<Delivery> all = unacked.values().stream().map(Held::delivery).toList();
            requeue(all);
            return all.size();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void defer(Delivery delivery, Instant eta) {
        lock.lock();
        try {
            if (unacked.remove(delivery.ackToken()) != null) {
                scheduled.add(new Scheduled(eta, delivery.queue(), delivery.priority(), delivery.message(),
                        store.seq++));
                available.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void deadLetter(Delivery delivery, String reason) {
        lock.lock();
        try {
            unacked.remove(delivery.ackToken());
            deadLetters.addFirst(new DeadLetter(UUID.randomUUID().toString(), delivery.queue(), reason,
                    clock.instant(), delivery.message(), delivery.message().bodyText()));
        } finally {
            lock.unlock();
        }
    }

    private final class Dead implements DeadLetterQueue {
        @Override
        public List<DeadLetter> list(int limit) {
            lock.lock();
            try {
                return deadLetters.stream().limit(limit).toList();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public long count() {
            lock.lock();
            try {
                return deadLetters.size();
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean requeue(String id) {
            lock.lock();
            try {
                for (DeadLetter d : deadLetters) {
                    if (d.id().equals(id)) {
                        deadLetters.remove(d);
                        InMemoryBroker.this.list(d.queue(), 0).addFirst(d.message());
                        available.signalAll();
                        return true;
                    }
                }
                return false;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public boolean discard(String id) {
            lock.lock();
            try {
                return deadLetters.removeIf(d -> d.id().equals(id));
            } finally {
                lock.unlock();
            }
        }
    }

    @Override
    public long queueLength(String queue) {
        lock.lock();
        try {
            long n = 0;
            for (int step : STEPS) {
                Deque<BrokerMessage> l = lists.get(key(queue, step));
                n += l == null ? 0 : l.size();
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    /** Messages held for a future ETA. */
    public int scheduledCount() {
        lock.lock();
        try {
            return scheduled.size();
        } finally {
            lock.unlock();
        }
    }

    /** Delivered messages not yet acked. */
    public int unackedCount() {
        lock.lock();
        try {
            return unacked.size();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long purge(String queue) {
        lock.lock();
        try {
            long n = queueLength(queue);
            for (int step : STEPS) {
                lists.remove(key(queue, step));
            }
            return n;
        } finally {
            lock.unlock();
        }
    }

    private final class Control implements ControlBus {
        @Override
        public void broadcast(ControlMessage message) {
            ensureOpen();
            for (Consumer<ControlMessage> l : listeners) {
                broadcaster.execute(() -> l.accept(message));
            }
        }

        @Override
        public AutoCloseable subscribe(Consumer<ControlMessage> listener) {
            listeners.add(listener);
            return () -> listeners.remove(listener);
        }

        @Override
        public void reply(ControlMessage request, String hostname, Object answer) {
            java.util.concurrent.BlockingQueue<Map<String, Object>> q = request.ticket() == null ? null
                    : replies.get(request.ticket());
            if (q != null) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put(hostname, answer);
                q.add(m);
            }
        }

        @Override
        public List<Map<String, Object>> broadcastAndCollect(ControlMessage message, Duration timeout) {
            String ticket = UUID.randomUUID().toString();
            java.util.concurrent.BlockingQueue<Map<String, Object>> q = new java.util.concurrent.LinkedBlockingQueue<>();
            replies.put(ticket, q);
            try {
                broadcast(new ControlMessage(message.method(), message.arguments(), message.destination(), ticket,
                        ticket));
                List<Map<String, Object>> out = new ArrayList<>();
                long deadline = System.nanoTime() + timeout.toNanos();
                while (true) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0) {
                        return out;
                    }
                    Map<String, Object> r = q.poll(left, TimeUnit.NANOSECONDS);
                    if (r != null) {
                        out.add(r);
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return List.of();
            } finally {
                replies.remove(ticket);
            }
        }
    }

    private final class Events implements EventBus {
        @Override
        @SuppressWarnings("unchecked")
        public void publish(String routingKey, String hostname, Object body) {
            List<Object> events = body instanceof List<?> l ? (List<Object>) l : List.of(body);
            for (Object e : events) {
                for (Consumer<Map<String, Object>> l : eventListeners) {
                    l.accept((Map<String, Object>) e);
                }
            }
        }

        @Override
        public AutoCloseable subscribe(Consumer<Map<String, Object>> listener) {
            eventListeners.add(listener);
            return () -> eventListeners.remove(listener);
        }
    }

    private final Once once = new Once();
    private final Dead dead = new Dead();
    private final Control control = new Control();
    private final Events events = new Events();

    @Override
    public Optional<DeadLetterQueue> deadLetterQueue() {
        return Optional.of(dead);
    }

    @Override
    public Optional<ControlBus> controlBus() {
        return Optional.of(control);
    }

    @Override
    public Optional<EventBus> eventBus() {
        return Optional.of(events);
    }

    @Override
    public Optional<OnceDispatch> onceDispatch() {
        return Optional.of(once);
    }

    private void ensureOpen() {
        if (closed) {
            throw new BrokerUnavailableException("in-memory broker is closed");
        }
    }

    /**
     * Closes this handle. Its unacked deliveries go back to the front of their queues, as a dead consumer's do on a
     * real broker; the store lives on while other handles are open.
     */
    @Override
    public void close() {
        boolean last;
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            List<Delivery> mine = new ArrayList<>();
            for (Held h : unacked.values()) {
                if (h.owner() == this) {
                    mine.add(h.delivery());
                }
            }
            for (Delivery d : mine) {
                unacked.remove(d.ackToken());
                list(d.queue(), d.priority()).addLast(d.message());
            }
            last = --store.open == 0;
            available.signalAll();
        } finally {
            lock.unlock();
        }
        if (last) {
            broadcaster.shutdown();
            try {
                broadcaster.awaitTermination(1, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
