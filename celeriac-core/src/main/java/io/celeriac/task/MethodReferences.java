package io.celeriac.task;

import io.celeriac.CeleriacException;

import java.io.Serializable;
import java.lang.invoke.MethodHandleInfo;
import java.lang.invoke.MethodType;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Type;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import org.jspecify.annotations.Nullable;

/**
 * Turns a method reference, {@code Invoices::total}, into the {@link TaskCall} it stands for: the method's task
 * name, the arguments given with it, and its generic return type. Only the reference's shape is read, from the
 * {@link SerializedLambda} the compiler generates for a {@link Serializable} functional interface; nothing is
 * serialized, and the method is never called here.
 *
 * <p>A reference must be unbound and name an instance method ({@code Type::method}): the worker supplies the
 * instance, so a reference to a particular object ({@code invoices::total}) would promise something the call cannot
 * keep. Lambdas, constructor and static method references are refused with {@link IllegalArgumentException}, as is
 * a method without {@link Task}.
 */
final class MethodReferences {
    /** What a reference's class resolved to; each call site of a method reference has its own class. */
    private record Resolved(String name, int arguments, boolean takesContext, Type resultType, SendOptions options) {
    }

    private static final ClassValue<AtomicReference<@Nullable Resolved>> RESOLVED = new ClassValue<>() {
        @Override
        protected AtomicReference<@Nullable Resolved> computeValue(Class<?> type) {
            return new AtomicReference<>();
        }
    };

    private MethodReferences() {
    }

    /**
     * The call of the task {@code reference} names, with {@code args}.
     *
     * @param contextFirst whether the reference's shape has a {@link TaskContext} after the target (a
     *     {@code Context...} kind of {@link TaskMethod})
     * @param partial whether the first argument is left for a canvas to fill in (Celery's partial signature:
     *     a chain's previous result, a chord's header results)
     * @throws IllegalArgumentException if {@code reference} is not an unbound reference to a {@link Task} method, or
     *     its kind does not match the method's
     */
    static <R> TaskCall<R> call(Serializable reference, boolean contextFirst, boolean partial,
                                @Nullable Object... args) {
        Resolved r = resolve(reference);
        if (r.takesContext() != contextFirst) {
            // Only a reference cast to a wrong kind by hand gets here: the compiler picks the kind from the shape.
            throw new IllegalArgumentException("Task '" + r.name() + "' " + (r.takesContext()
                    ? "takes a TaskContext first: pass only the arguments after it (the worker supplies the context)"
                    : "takes no TaskContext, but was referenced as one that does"));
        }
        int expected = r.arguments() - (partial ? 1 : 0);
        if (args.length != expected) {
            throw new IllegalArgumentException("Task '" + r.name() + "' takes " + r.arguments() + " argument(s)"
                    + (partial ? ", the first from the previous step, so " + expected + " here" : "") + "; "
                    + args.length + " given");
        }
        return new TaskCall<>(r.name(), Arrays.asList(args), r.resultType(), r.options());
    }

    private static Resolved resolve(Serializable reference) {
        AtomicReference<@Nullable Resolved> cached = RESOLVED.get(reference.getClass());
        Resolved r = cached.get();
        if (r == null) {
            r = resolveNow(reference);
            cached.set(r);
        }
        return r;
    }

    private static Resolved resolveNow(Serializable reference) {
        SerializedLambda shape = shapeOf(reference);
        String method = shape.getImplMethodName();
        String where = shape.getImplClass().replace('/', '.');
        if (method.startsWith("lambda$")) {
            throw new IllegalArgumentException("Typed calls take a method reference such as Invoices::total, not a "
                    + "lambda (" + method + " in " + where + "): only a reference names the task to send");
        }
        int kind = shape.getImplMethodKind();
        if (kind == MethodHandleInfo.REF_newInvokeSpecial) {
            throw new IllegalArgumentException("Typed calls take a reference to a @Task method, not a constructor ("
                    + where + "::new)");
        }
        if (kind == MethodHandleInfo.REF_invokeStatic) {
            throw new IllegalArgumentException(where + "::" + method + " is a static method: typed calls take an "
                    + "instance method, Type::method; send a static task by name, app.task(name)");
        }
        if (shape.getCapturedArgCount() > 0) {
            throw new IllegalArgumentException("Typed calls take an unbound method reference, Type::method, not one "
                    + "bound to an object (object::" + method + "): the worker runs the task on its own instance");
        }
        ClassLoader loader = reference.getClass().getClassLoader();
        MethodType signature = MethodType.fromMethodDescriptorString(shape.getImplMethodSignature(), loader);
        Class<?> declaring = load(where, loader);
        // The type the reference was written against (Sub::m where m is Base's): its interfaces may declare the task.
        Class<?> owner = MethodType.fromMethodDescriptorString(shape.getInstantiatedMethodType(), loader)
                .parameterType(0);
        Method m = find(declaring, method, signature.parameterArray());
        TaskDeclaration d = TaskDeclaration.of(owner, m).orElseThrow(() -> new IllegalArgumentException(
                MethodTaskHandler.describe(m) + " is not a task: neither it nor an interface method it implements "
                        + "has @Task"));
        Class<?>[] params = m.getParameterTypes();
        boolean takesContext = params.length > 0 && params[0] == TaskContext.class;
        Type result = m.getReturnType() == void.class ? Void.class : m.getGenericReturnType();
        return new Resolved(d.name(), params.length - (takesContext ? 1 : 0), takesContext, result,
                d.sendOptions());
    }

    /** The {@link SerializedLambda} a compiler-generated lambda class writes in place of itself. */
    private static SerializedLambda shapeOf(Serializable reference) {
        Object form;
        try {
            Method writeReplace = reference.getClass().getDeclaredMethod("writeReplace");
            writeReplace.setAccessible(true);
            form = writeReplace.invoke(reference);
        } catch (NoSuchMethodException e) {
            form = null;
        } catch (InaccessibleObjectException | IllegalAccessException e) {
            throw new IllegalArgumentException("Cannot read which method " + reference.getClass().getName()
                    + " refers to (" + e.getMessage() + "); if it is in a named module, open its package to "
                    + "io.celeriac", e);
        } catch (InvocationTargetException e) {
            throw new CeleriacException("Cannot read which method " + reference.getClass().getName()
                    + " refers to: " + e.getCause(), e.getCause());
        }
        if (!(form instanceof SerializedLambda shape)) {
            throw new IllegalArgumentException("Typed calls take a method reference such as Invoices::total; "
                    + reference.getClass().getName() + " is not one");
        }
        return shape;
    }

    private static Class<?> load(String name, ClassLoader loader) {
        try {
            return Class.forName(name, false, loader);
        } catch (ClassNotFoundException e) {
            throw new IllegalArgumentException("The class of a method reference, " + name + ", cannot be loaded", e);
        }
    }

    /** The method a reference names, declared by {@code type}, a superclass, or an interface. */
    private static Method find(Class<?> type, String name, Class<?>[] params) {
        for (Class<?> c = type; c != null; c = c.getSuperclass()) {
            try {
                return c.getDeclaredMethod(name, params);
            } catch (NoSuchMethodException e) {
                // Inherited: look further up.
            }
        }
        try {
            return type.getMethod(name, params);
        } catch (NoSuchMethodException e) {
            throw new IllegalArgumentException("No method " + name + Arrays.toString(params) + " in " + type.getName()
                    + ", which a method reference names", e);
        }
    }
}
