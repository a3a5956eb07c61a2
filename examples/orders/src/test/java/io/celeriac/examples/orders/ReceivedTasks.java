package io.celeriac.examples.orders;

import io.celeriac.task.TaskRequest;
import io.celeriac.worker.WorkerListener;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts the messages the application's worker receives, by task id: what was sent, seen from the worker's side. */
public class ReceivedTasks implements WorkerListener {
    private final Map<String, AtomicInteger> received = new ConcurrentHashMap<>();

    @Override
    public void taskReceived(TaskRequest request) {
        received.computeIfAbsent(request.id(), id -> new AtomicInteger()).incrementAndGet();
    }

    public int count(String taskId) {
        AtomicInteger n = received.get(taskId);
        return n == null ? 0 : n.get();
    }
}
