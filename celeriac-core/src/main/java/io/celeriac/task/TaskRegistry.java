package io.celeriac.task;

import io.celeriac.CeleriacException;
import io.celeriac.protocol.MessageCodec;
import io.github.classgraph.ClassGraph;
import io.github.classgraph.ClassInfo;
import io.github.classgraph.ScanResult;

import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import org.jspecify.annotations.Nullable;

/**
 * The tasks a process knows, by name. Register objects whose methods carry {@link Task}, classes (instantiated with
 * their no-argument constructor), lambdas via {@link TaskDefinition}, or scan packages for {@link Task} methods
 * without any framework ({@code celeriac worker -A com.acme.tasks}). A duplicate name fails at once, naming both.
 */
public final class TaskRegistry {
    private final Map<String, TaskDefinition> tasks = new ConcurrentHashMap<>();
    private final MessageCodec codec;

    public TaskRegistry(MessageCodec codec) {
        this.codec = codec;
    }

    public TaskRegistry() {
        this(new MessageCodec());
    }

    /** Registers one definition; throws {@link DuplicateTaskException} if the name is taken. */
    public synchronized TaskDefinition register(TaskDefinition definition) {
        TaskDefinition existing = tasks.get(definition.name());
        if (existing != null) {
            throw new DuplicateTaskException(definition.name(), existing.source(), definition.source());
        }
        tasks.put(definition.name(), definition);
        return definition;
    }

    /** Registers every {@link Task} method of {@code bean} (instance methods run on this very object). */
    public List<TaskDefinition> register(Object bean) {
        if (bean instanceof Class<?> c) {
            return registerClass(c);
        }
        return registerMethods(bean.getClass(), bean);
    }

    /** Registers the {@link Task} methods of a class, creating one instance if any of them is not static. */
    public List<TaskDefinition> registerClass(Class<?> type) {
        return registerMethods(type, null);
    }

    private List<TaskDefinition> registerMethods(Class<?> type, @Nullable Object bean) {
        List<Method> methods = taskMethods(type);
        Object target = bean;
        if (target == null && methods.stream().anyMatch(m -> !Modifier.isStatic(m.getModifiers()))) {
            target = instantiate(type);
        }
        List<TaskDefinition> added = new ArrayList<>();
        for (Method m : methods) {
            added.add(register(definitionOf(target, m)));
        }
        return added;
    }

    /** Builds the definition of one annotated method without registering it. */
    public TaskDefinition definitionOf(@Nullable Object target, Method m) {
        Task t = m.getAnnotation(Task.class);
        if (t == null) {
            throw new IllegalArgumentException(m + " has no @Task annotation");
        }
        String name = t.name().isEmpty() ? m.getDeclaringClass().getName() + "." + m.getName() : t.name();
        MethodTaskHandler handler = new MethodTaskHandler(target, m, codec);
        return new TaskDefinition(name, TaskOptions.from(t), handler, handler.source(), handler.parameterNames());
    }

    /**
     * Finds every class in the given packages (and their sub-packages) with a {@link Task} method and registers
     * them. Returns what was registered.
     */
    public List<TaskDefinition> scan(String... packages) {
        List<TaskDefinition> added = new ArrayList<>();
        try (ScanResult scan = new ClassGraph().enableMethodInfo().enableAnnotationInfo()
                .acceptPackages(packages).scan()) {
            for (ClassInfo ci : scan.getClassesWithMethodAnnotation(Task.class)) {
                if (ci.isAbstract() || ci.isInterface()) {
                    continue;
                }
                added.addAll(registerClass(ci.loadClass()));
            }
        }
        return added;
    }

    public Optional<TaskDefinition> find(String name) {
        TaskDefinition d = tasks.get(name);
        return d != null ? Optional.of(d) : BuiltinTasks.find(name, this);
    }

    public TaskDefinition get(String name) {
        TaskDefinition d = find(name).orElse(null);
        if (d == null) {
            throw new TaskNotRegisteredException(name);
        }
        return d;
    }

    /** Registered names in order. */
    public Collection<String> names() {
        return new TreeMap<>(tasks).keySet();
    }

    public Collection<TaskDefinition> all() {
        return new TreeMap<>(tasks).values();
    }

    private static List<Method> taskMethods(Class<?> type) {
        List<Method> found = new ArrayList<>();
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.isAnnotationPresent(Task.class) && !m.isBridge() && !m.isSynthetic()) {
                    found.add(m);
                }
            }
        }
        found.sort((a, b) -> a.getName().compareTo(b.getName()));
        return found;
    }

    private static Object instantiate(Class<?> type) {
        try {
            Constructor<?> ctor = type.getDeclaredConstructor();
            ctor.setAccessible(true);
            return ctor.newInstance();
        } catch (NoSuchMethodException e) {
            throw new CeleriacException(type.getName() + " has @Task instance methods but no no-argument "
                    + "constructor: register an instance with TaskRegistry.register(object) instead");
        } catch (ReflectiveOperationException e) {
            throw new CeleriacException("Cannot create " + type.getName() + ": " + e, e);
        }
    }
}
