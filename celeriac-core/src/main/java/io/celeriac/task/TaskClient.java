package io.celeriac.task;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Proxy;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The proxy behind {@link TypedSender#client}: each {@link Task} method of the interface sends its task through the
 * sender that made the client and returns the handle. Everything about the interface is checked when the client is
 * made, so a call does no more than look its method up and send.
 */
final class TaskClient implements InvocationHandler {
    /** One task method of the interface, resolved once. */
    private record Target(String name, Type resultType, SendOptions options) {
    }

    private final Class<?> type;
    private final TypedSender sender;
    private final Map<Method, Target> targets;

    private TaskClient(Class<?> type, TypedSender sender, Map<Method, Target> targets) {
        this.type = type;
        this.sender = sender;
        this.targets = targets;
    }

    static <C> C create(Class<C> type, TypedSender sender) {
        if (!type.isInterface()) {
            throw new IllegalArgumentException(type.getName() + " is not an interface: a client is a proxy over an "
                    + "interface; to send a task a class declares, use app.send(" + type.getSimpleName()
                    + "::method, ...)");
        }
        Map<Method, Target> targets = new HashMap<>();
        List<String> problems = new ArrayList<>();
        for (Method m : type.getMethods()) {
            if (m.isDefault() || Modifier.isStatic(m.getModifiers()) || isObjectMethod(m)) {
                continue;
            }
            TaskDeclaration d = TaskDeclaration.of(type, m).orElse(null);
            String problem = d == null ? "has no @Task" : problem(m);
            if (problem != null) {
                problems.add(MethodTaskHandler.describe(m) + " " + problem);
            } else {
                targets.put(m, new Target(d.name(), resultType(m), d.sendOptions()));
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(type.getName() + " cannot be a task client: "
                    + String.join("; ", problems) + ". Each abstract method of a client interface carries @Task and "
                    + "returns TypedAsyncResult<R> or AsyncResult; for an interface the worker implements, send with "
                    + "app.send(" + type.getSimpleName() + "::method, ...)");
        }
        Object proxy = Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type},
                new TaskClient(type, sender, Map.copyOf(targets)));
        return type.cast(proxy);
    }

    /** Why {@code m} cannot be a client method, or null if it can. */
    private static @Nullable String problem(Method m) {
        if (!AsyncResult.class.isAssignableFrom(m.getReturnType())
                || !m.getReturnType().isAssignableFrom(TypedAsyncResult.class)) {
            return "returns " + m.getGenericReturnType().getTypeName() + ", not TypedAsyncResult<...>";
        }
        Class<?>[] params = m.getParameterTypes();
        if (params.length > 0 && params[0] == TaskContext.class) {
            return "takes a TaskContext, which the worker supplies, not the caller";
        }
        return null;
    }

    /** {@code R} of a {@code TypedAsyncResult<R>}; plain JSON values for a raw one or an {@code AsyncResult}. */
    private static Type resultType(Method m) {
        if (m.getGenericReturnType() instanceof ParameterizedType p) {
            Type r = p.getActualTypeArguments()[0];
            return r instanceof WildcardType w ? w.getUpperBounds()[0] : r;
        }
        return Object.class;
    }

    private static boolean isObjectMethod(Method m) {
        try {
            Object.class.getMethod(m.getName(), m.getParameterTypes());
            return true;
        } catch (NoSuchMethodException e) {
            return false;
        }
    }

    @Override
    public @Nullable Object invoke(Object proxy, Method method, @Nullable Object @Nullable [] args) throws Throwable {
        Target t = targets.get(method);
        if (t != null) {
            List<@Nullable Object> values = args == null ? List.of() : Arrays.asList(args);
            return sender.send(new TaskCall<>(t.name(), values, t.resultType(), t.options()));
        }
        if (method.isDefault()) {
            return InvocationHandler.invokeDefault(proxy, method, args);
        }
        return switch (method.getName()) {
            case "equals" -> args != null && proxy == args[0];
            case "hashCode" -> System.identityHashCode(proxy);
            case "toString" -> "task client " + type.getName();
            default -> throw new UnsupportedOperationException(method.toString());
        };
    }
}
