package io.celeriac.worker;

import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultBackend;
import io.celeriac.backend.ResultBackendUnavailableException;
import io.celeriac.backend.ResultDocument;

import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * The real {@link InMemoryResultBackend} that can be taken down: while {@link #down} is set, writes throw
 * {@link ResultBackendUnavailableException}, as a backend out of reach does. Reads always work (the tests read
 * through it).
 */
class FaultyBackend implements ResultBackend {
    final InMemoryResultBackend inner = new InMemoryResultBackend();
    volatile boolean down;

    @Override
    public void store(List<ResultDocument> documents) {
        if (down) {
            throw new ResultBackendUnavailableException("Storing " + documents.size() + " result(s) failed: the "
                    + "result backend cannot be reached");
        }
        inner.store(documents);
    }

    @Override
    public Optional<ResultDocument> get(String taskId) {
        return inner.get(taskId);
    }

    @Override
    public Optional<ResultDocument> await(String taskId, Duration timeout) throws InterruptedException {
        return inner.await(taskId, timeout);
    }

    @Override
    public void forget(Collection<String> taskIds) {
        inner.forget(taskIds);
    }
}
