package io.celeriac.task;

import io.celeriac.CeleriacException;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * Where a task method's {@link Task} is declared: on the method itself, or on the interface method it implements.
 * The second lets a sender and a worker share an interface as the task's contract: the worker registers the class
 * that implements it, the sender needs only the interface, and both read the same name and options from it.
 *
 * @param declared the method that carries the annotation (the interface's, for an implemented interface method)
 * @param task the annotation
 */
record TaskDeclaration(Method declared, Task task) {

    /**
     * The declaration of {@code method} as a member of {@code owner} (the class registered, or the type a method
     * reference names): its own {@link Task}, or that of the one interface method of {@code owner} it implements.
     *
     * @throws CeleriacException if both the method and an interface method it implements carry {@link Task}, or two
     *     interface methods it implements do: which name would a sender use?
     */
    static Optional<TaskDeclaration> of(Class<?> owner, Method method) {
        Task own = method.getAnnotation(Task.class);
        List<Method> inherited = annotatedInterfaceMethods(owner, method);
        if (own != null) {
            if (!inherited.isEmpty()) {
                throw new CeleriacException(MethodTaskHandler.describe(method) + " has @Task, and so has "
                        + MethodTaskHandler.describe(inherited.get(0)) + ", which it implements: declare the task "
                        + "once, on the interface, so that senders and workers read one name");
            }
            return Optional.of(new TaskDeclaration(method, own));
        }
        if (inherited.size() > 1) {
            throw new CeleriacException(MethodTaskHandler.describe(method) + " implements two @Task methods, "
                    + MethodTaskHandler.describe(inherited.get(0)) + " and "
                    + MethodTaskHandler.describe(inherited.get(1)) + ": keep @Task on one of them");
        }
        return inherited.isEmpty() ? Optional.empty()
                : Optional.of(new TaskDeclaration(inherited.get(0), inherited.get(0).getAnnotation(Task.class)));
    }

    /** The registered name: {@link Task#name()}, else {@code <declaring type>.<method>} (the interface's, if there). */
    String name() {
        return task.name().isEmpty() ? declared.getDeclaringClass().getName() + "." + declared.getName() : task.name();
    }

    /**
     * The declared options that decide how a message is sent (queue, priority, expiry, ignore result, unique), as
     * send options for a caller to lay its own over. A sender that has not registered the task still sends it where
     * its declaration says; for one that has, these are what {@code Celeriac.buildMessage} would read from the
     * registry, at the same precedence. The other options (retries, limits, acks) are the worker's business.
     */
    SendOptions sendOptions() {
        TaskOptions o = TaskOptions.from(task);
        if (o.queue().isEmpty() && o.priority().isEmpty() && o.expires().isEmpty() && o.ignoreResult().isEmpty()
                && !o.unique()) {
            return SendOptions.none(); // the usual case, which lets a caller's options go on as they are
        }
        SendOptions.Builder b = SendOptions.builder();
        o.queue().ifPresent(b::queue);
        o.priority().ifPresent(b::priority);
        o.expires().ifPresent(b::expires);
        o.ignoreResult().ifPresent(b::ignoreResult);
        if (o.unique()) {
            b.unique(true);
        }
        return b.build();
    }

    /** The {@link Task}-annotated, non-static methods of {@code owner}'s interfaces that {@code method} implements. */
    private static List<Method> annotatedInterfaceMethods(Class<?> owner, Method method) {
        if (Modifier.isStatic(method.getModifiers())) {
            return List.of();
        }
        List<Method> found = new ArrayList<>();
        for (Class<?> i : interfacesOf(owner)) {
            if (i == method.getDeclaringClass()) {
                continue;
            }
            try {
                Method m = i.getDeclaredMethod(method.getName(), method.getParameterTypes());
                if (m.isAnnotationPresent(Task.class) && !Modifier.isStatic(m.getModifiers())) {
                    found.add(m);
                }
            } catch (NoSuchMethodException notThere) {
                // This interface does not declare it; another may.
            }
        }
        return found;
    }

    /** Every interface {@code type} implements, directly or through its superclasses and superinterfaces. */
    static Set<Class<?>> interfacesOf(Class<?> type) {
        Set<Class<?>> out = new LinkedHashSet<>();
        if (type.isInterface()) {
            out.add(type);
        }
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            for (Class<?> i : c.getInterfaces()) {
                addWithSuperinterfaces(i, out);
            }
        }
        return out;
    }

    private static void addWithSuperinterfaces(Class<?> i, Set<Class<?>> out) {
        if (out.add(i)) {
            for (Class<?> s : i.getInterfaces()) {
                addWithSuperinterfaces(s, out);
            }
        }
    }
}
