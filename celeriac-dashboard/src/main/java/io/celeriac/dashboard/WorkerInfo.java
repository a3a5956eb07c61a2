package io.celeriac.dashboard;

import java.util.List;

/**
 * A worker as the dashboard sees it, Celeriac's or Python Celery's alike.
 *
 * @param hostname node name ({@code celery@host})
 * @param software {@code celeriac 0.1.0} or {@code py-celery 5.2.6}
 * @param online heard from within its heartbeat window and not gone offline
 * @param lastHeartbeat epoch seconds of the last worker event
 * @param freq heartbeat interval in seconds
 * @param active tasks running now
 * @param processed tasks run since it started
 * @param loadavg the host's 1/5/15-minute load
 * @param poolSize pool slots (from {@code stats}), or 0 if it has not answered yet
 * @param queues queues it consumes (from {@code active_queues})
 * @param pid process id
 */
public record WorkerInfo(String hostname, String software, boolean online, double lastHeartbeat, double freq,
                         int active, long processed, List<Double> loadavg, int poolSize, List<String> queues,
                         long pid) {
    public WorkerInfo {
        loadavg = loadavg == null ? List.of() : List.copyOf(loadavg);
        queues = queues == null ? List.of() : List.copyOf(queues);
    }
}
