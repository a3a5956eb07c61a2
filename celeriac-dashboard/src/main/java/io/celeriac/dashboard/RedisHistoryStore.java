package io.celeriac.dashboard;

import io.celeriac.redis.RedisRecordLog;

import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * The task history in Redis: a hash of records by id and a sorted set of ids by first-seen time
 * ({@link RedisRecordLog}), so a restart reloads the newest N and trimming drops the oldest.
 *
 * <p>It connects on first use, not in the constructor, so that a dashboard starts while Redis is down; then, as the
 * broker's connection does, it rejects commands while disconnected (the history keeps unsaved records for the next
 * flush) and reconnects with a backoff capped at one second.
 */
public final class RedisHistoryStore implements HistoryStore {
    static final String RECORDS = "celeriac.dashboard.tasks";
    static final String ORDER = "celeriac.dashboard.order";

    private final RedisRecordLog log;

    public RedisHistoryStore(String url) {
        this(url, Map.of());
    }

    /** @param transportOptions Celery's {@code broker_transport_options} (Sentinel's {@code master_name}) */
    public RedisHistoryStore(String url, Map<String, Object> transportOptions) {
        this.log = new RedisRecordLog(url, transportOptions, RECORDS, ORDER, "dashboard's history store");
    }

    @Override
    public List<TaskRecord> load(int max) {
        return log.newest(max).stream().map(TaskRecord::fromJson).toList();
    }

    @Override
    public void save(Collection<TaskRecord> records) {
        log.put(records.stream().map(t -> new RedisRecordLog.Entry(t.id(), t.toJson(), t.firstSeen())).toList());
    }

    @Override
    public void trim(int max) {
        log.trim(max);
    }

    @Override
    public void remove(Collection<String> ids) {
        log.remove(ids);
    }

    @Override
    public void close() {
        log.close();
    }
}
