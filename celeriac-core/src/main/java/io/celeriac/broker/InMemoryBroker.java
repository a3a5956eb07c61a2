package io.celeriac.broker;

import io.celeriac.control.ControlMessage;

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
import java.util.PriorityQueue;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * A broker inside the JVM, for {@code celeriac demo}, single-process apps and users' unit tests. It follows the
 * same rules as the Redis broker (priority steps 0/3/6/9 served lowest first, ETA messages held until due,
 * unacked deliveries kept until acked) but keeps nothing when the process ends.
 */
public final class InMemoryBroker implements Broker {
    private static final int[] STEPS = PriorityLists.STEPS;

    private record Scheduled(Instant eta, String queue, int priority, String payload, long seq) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition available = lock.newCondition();
    private final Map<String, Deque<String>> lists = new HashMap<>();
    private final Map<String, Delivery> unacked = new LinkedHashMap<>();
    private final PriorityQueue<Scheduled> scheduled = new PriorityQueue<>(
            (a, b) -> a.eta.equals(b.eta) ? Long.compare(a.seq, b.seq) : a.eta.compareTo(b.eta));
    private final Deque<DeadLetter> deadLetters = new ArrayDeque<>();
    private final List<Consumer<ControlMessage>> listeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<Map<String, Object>>> eventListeners = new CopyOnWriteArrayList<>();
    private final Map<String, java.util.concurrent.BlockingQueue<Map<String, Object>>> replies =
            new java.util.concurrent.ConcurrentHashMap<>();
    private final ExecutorService broadcaster = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "celeriac-memory-broadcast");
        t.setDaemon(true);
        return t;
    });
    private final Clock clock;
    private long seq;
    private volatile boolean closed;

    public InMemoryBroker() {
        this(Clock.systemUTC());
    }

    public InMemoryBroker(Clock clock) {
        this.clock = clock;
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
                    scheduled.add(new Scheduled(m.eta(), m.queue(), m.priority(), m.payload(), seq++));
                } else {
                    list(m.queue(), step(m.priority())).addFirst(m.payload());
                }
            }
            available.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private final Map<String, Instant> onceKeys = new HashMap<>();

    @Override
    public boolean publishOnce(String onceKey, Duration keep, OutboundMessage message) {
        lock.lock();
        try {
            Instant now = clock.instant();
            Instant until = onceKeys.get(onceKey);
            if (until != null && until.isAfter(now)) {
                return false;
            }
            onceKeys.put(onceKey, now.plus(keep));
            publish(List.of(message));
            return true;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void forgetOnce(String onceKey) {
        lock.lock();
        try {
            onceKeys.remove(onceKey);
        } finally {
            lock.unlock();
        }
    }

    private Deque<String> list(String queue, int step) {
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
                List<Delivery> out = new ArrayList<>();
                for (String q : queues) {
                    for (int step : STEPS) {
                        Deque<String> l = lists.get(key(q, step));
                        while (l != null && !l.isEmpty() && out.size() < max) {
                            Delivery d = new Delivery(q, l.pollLast(), UUID.randomUUID().toString(), step);
                            unacked.put(d.ackToken(), d);
                            out.add(d);
                        }
                    }
                }
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

    private void moveDue() {
        Instant now = clock.instant();
        while (!scheduled.isEmpty() && !scheduled.peek().eta.isAfter(now)) {
            Scheduled s = scheduled.poll();
            list(s.queue, step(s.priority)).addFirst(s.payload);
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
                    list(d.queue(), d.priority()).addLast(d.payload());
                }
            }
            available.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Returns every unacked delivery to its queue, as a restarted Redis consumer would after a crash. */
    public int restoreUnacked() {
        lock.lock();
        try {
            List<Delivery> all = new ArrayList<>(unacked.values());
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
                scheduled.add(new Scheduled(eta, delivery.queue(), delivery.priority(), delivery.payload(), seq++));
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
            deadLetters.addFirst(new DeadLetter(UUID.randomUUID().toString(), delivery.queue(), delivery.payload(),
                    reason, clock.instant()));
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<DeadLetter> deadLetters(int limit) {
        lock.lock();
        try {
            return deadLetters.stream().limit(limit).toList();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long deadLetterCount() {
        lock.lock();
        try {
            return deadLetters.size();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public boolean requeueDeadLetter(String id) {
        lock.lock();
        try {
            for (DeadLetter d : deadLetters) {
                if (d.id().equals(id)) {
                    deadLetters.remove(d);
                    list(d.queue(), 0).addFirst(d.payload());
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
    public boolean discardDeadLetter(String id) {
        lock.lock();
        try {
            return deadLetters.removeIf(d -> d.id().equals(id));
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long queueLength(String queue) {
        lock.lock();
        try {
            long n = 0;
            for (int step : STEPS) {
                Deque<String> l = lists.get(key(queue, step));
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

    @Override
    public void broadcast(ControlMessage message) {
        ensureOpen();
        for (Consumer<ControlMessage> l : listeners) {
            broadcaster.execute(() -> l.accept(message));
        }
    }

    @Override
    public AutoCloseable subscribeBroadcast(Consumer<ControlMessage> listener) {
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    @Override
    @SuppressWarnings("unchecked")
    public void publishEvent(String routingKey, String hostname, Object body) {
        List<Object> events = body instanceof List<?> l ? (List<Object>) l : List.of(body);
        for (Object e : events) {
            for (Consumer<Map<String, Object>> l : eventListeners) {
                l.accept((Map<String, Object>) e);
            }
        }
    }

    @Override
    public AutoCloseable subscribeEvents(Consumer<Map<String, Object>> listener) {
        eventListeners.add(listener);
        return () -> eventListeners.remove(listener);
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

    private void ensureOpen() {
        if (closed) {
            throw new BrokerUnavailableException("in-memory broker is closed");
        }
    }

    @Override
    public void close() {
        closed = true;
        broadcaster.shutdown();
        lock.lock();
        try {
            available.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            broadcaster.awaitTermination(1, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
