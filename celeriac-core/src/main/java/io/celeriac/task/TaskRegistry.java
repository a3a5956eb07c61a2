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
import java.util.Comparator;
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
        if (type.isInterface()) {
            throw new CeleriacException(type.getName() + " is an interface: register the class that implements "
                    + "its tasks, or an instance of it");
        }
        Map<Method, TaskDeclaration> methods = taskMethods(type);
        Object target = bean;
        if (target == null && methods.keySet().stream().anyMatch(m -> !Modifier.isStatic(m.getModifiers()))) {
            target = instantiate(type);
        }
        List<TaskDefinition> added = new ArrayList<>();
        for (Map.Entry<Method, TaskDeclaration> e : methods.entrySet()) {
            added.add(register(definitionOf(target, e.getKey(), e.getValue())));
        }
        return added;
    }

    /**
     * Builds the definition of one task method without registering it: a method with {@link Task}, or one that
     * implements an interface method with {@link Task} (the task is then the interface's: its name, options and
     * {@link Arg}s).
     *
     * @throws IllegalArgumentException if neither {@code m} nor an interface method it implements has {@link Task}
     */
    public TaskDefinition definitionOf(@Nullable Object target, Method m) {
        Class<?> owner = target == null || target instanceof Class<?> ? m.getDeclaringClass() : target.getClass();
        TaskDeclaration d = TaskDeclaration.of(owner, m).orElseThrow(() -> new IllegalArgumentException(m
                + " has no @Task annotation, nor has an interface method it implements"));
        return definitionOf(target, m, d);
    }

    private TaskDefinition definitionOf(@Nullable Object target, Method m, TaskDeclaration d) {
        MethodTaskHandler handler = new MethodTaskHandler(target, d.declared(), m, codec);
        return new TaskDefinition(d.name(), TaskOptions.from(d.task()), handler, handler.source(),
                handler.parameterNames());
    }

    /**
     * Finds every class in the given packages (and their sub-packages) with a {@link Task} method, or implementing
     * an interface with one, and registers them. Returns what was registered.
     */
    public List<TaskDefinition> scan(String... packages) {
        List<TaskDefinition> added = new ArrayList<>();
        try (ScanResult scan = new ClassGraph().enableMethodInfo().enableAnnotationInfo()
                .acceptPackages(packages).scan()) {
            Map<String, ClassInfo> classes = new TreeMap<>();
            for (ClassInfo ci : scan.getClassesWithMethodAnnotation(Task.class)) {
                if (ci.isInterface()) {
                    // Its tasks run on the classes implementing it; only those in the scanned packages are seen.
                    for (ClassInfo impl : ci.getClassesImplementing()) {
                        if (!impl.isAnonymousInnerClass()) {
                            classes.put(impl.getName(), impl);
                        }
                    }
                } else {
                    classes.put(ci.getName(), ci);
                }
            }
            for (ClassInfo ci : classes.values()) {
                if (!ci.isAbstract() && !ci.isInterface()) {
                    added.addAll(registerClass(ci.loadClass()));
                }
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

    /**
     * The task methods of {@code type}, each with its declaration, in name order: its own and its superclasses'
     * {@link Task} methods, and the methods implementing its interfaces' {@link Task} methods.
     */
    private static Map<Method, TaskDeclaration> taskMethods(Class<?> type) {
        Map<Method, TaskDeclaration> found = new TreeMap<>(Comparator.comparing(Method::getName)
                .thenComparing(MethodTaskHandler::describe));
        for (Class<?> c = type; c != null && c != Object.class; c = c.getSuperclass()) {
            for (Method m : c.getDeclaredMethods()) {
                if (m.isAnnotationPresent(Task.class) && !m.isBridge() && !m.isSynthetic()) {
                    // Refuses a method whose interface declares the task too.
                    found.put(m, TaskDeclaration.of(type, m).orElseThrow());
                }
            }
        }
        for (Class<?> i : TaskDeclaration.interfacesOf(type)) {
            for (Method declared : i.getDeclaredMethods()) {
                if (!declared.isAnnotationPresent(Task.class) || Modifier.isStatic(declared.getModifiers())) {
                    continue;
                }
                Method impl;
                try {
                    impl = type.getMethod(declared.getName(), declared.getParameterTypes());
                } catch (NoSuchMethodException e) {
                    continue; // an abstract class leaving it to subclasses
                }
                if (!Modifier.isAbstract(impl.getModifiers()) && !found.containsKey(impl)) {
                    found.put(impl, TaskDeclaration.of(type, impl).orElseThrow());
                }
            }
        }
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
