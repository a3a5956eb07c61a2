package io.celeriac.task;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Celery's built-in {@code celery.map}, {@code celery.starmap} and {@code celery.accumulate} tasks ({@code celery/app/builtins.py}): run
 * another registered task once per item, in this task's own thread, and return the list of results. They back
 * {@link Canvas#map}, {@link Canvas#starmap} and {@link Canvas#chunks}, and serve the same messages sent by Python.
 * Every registry knows them without listing them, as Celery's {@code inspect registered} hides {@code celery.*}.
 */
final class BuiltinTasks {
    static final String MAP = "celery.map";
    static final String STARMAP = "celery.starmap";
    static final String ACCUMULATE = "celery.accumulate";

    private BuiltinTasks() {
    }

    static Optional<TaskDefinition> find(String name, TaskRegistry registry) {
        if (MAP.equals(name)) {
            return Optional.of(TaskDefinition.of(MAP, (ctx, args, kwargs) -> run(registry, ctx, kwargs, false)));
        }
        if (STARMAP.equals(name)) {
            return Optional.of(TaskDefinition.of(STARMAP, (ctx, args, kwargs) -> run(registry, ctx, kwargs, true)));
        }
        if (ACCUMULATE.equals(name)) {
            // Celery's accumulate(self, *args, index=None): the args, or the one at index.
            return Optional.of(TaskDefinition.of(ACCUMULATE, (ctx, args, kwargs) -> kwargs.get("index") instanceof
                    Number i ? args.get(i.intValue()) : args));
        }
        return Optional.empty();
    }

    private static List<Object> run(TaskRegistry registry, TaskContext ctx, Map<String, Object> kwargs,
                                    boolean star) throws Exception {
        if (!(kwargs.get("task") instanceof Map<?, ?> sig) || !(sig.get("task") instanceof String name)) {
            throw new TaskArgumentException("celery.map/starmap needs a 'task' signature, got " + kwargs.get("task"));
        }
        if (!(kwargs.get("it") instanceof List<?> items)) {
            throw new TaskArgumentException("celery.map/starmap needs a list 'it', got " + kwargs.get("it"));
        }
        TaskDefinition def = registry.get(name);
        List<Object> out = new ArrayList<>(items.size());
        for (Object item : items) {
            List<Object> args = new ArrayList<>();
            if (star) {
                if (!(item instanceof List<?> l)) {
                    throw new TaskArgumentException("celery.starmap needs a list of argument lists, got " + item);
                }
                args.addAll(l);
            } else {
                args.add(item);
            }
            out.add(def.handler().run(ctx, args, Map.of()));
        }
        return out;
    }
}
