package io.celeriac.task;

import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The code a task runs. {@link Task}-annotated methods are adapted to this interface; tasks can also be given as
 * lambdas when registered in code. Arguments arrive as JSON values (null, Boolean, Number, String, List, Map); the
 * return value must be convertible to JSON.
 */
@FunctionalInterface
public interface TaskHandler {
    @Nullable Object run(TaskContext context, List<Object> args, Map<String, Object> kwargs) throws Exception;
}
