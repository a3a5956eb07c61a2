package io.celeriac.task;

import io.celeriac.CeleriacException;
import io.celeriac.protocol.MessageCodec;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/**
 * Runs a {@link Task}-annotated method: binds JSON args (positional, then kwargs by keyword name: {@link Arg#name()}
 * or the parameter name, which needs {@code javac -parameters}) onto the method's parameters, as Python binds a call,
 * and converts each to the declared type with Jackson. A parameter the call leaves out takes what its
 * {@link TaskParameter} says, or the call fails.
 */
final class MethodTaskHandler implements TaskHandler {
    private final @Nullable Object target;
    private final Method method;
    private final boolean takesContext;
    private final List<TaskParameter> params;
    private final String source;

    /**
     * @param declared the method whose parameters define the call: {@code invoked} itself, or the interface method
     *     it implements when {@link Task} is declared there (with its {@link Arg}s: the interface is the contract)
     * @param invoked the method that runs
     * @throws CeleriacException if a parameter's {@link Arg} is unusable (see {@link TaskParameter}), or is on an
     *     implementation of an interface's task method, where it would not be seen
     */
    MethodTaskHandler(@Nullable Object target, Method declared, Method invoked, MessageCodec codec) {
        this.target = Modifier.isStatic(invoked.getModifiers()) ? null : target;
        this.method = invoked;
        this.source = describe(invoked);
        if (!declared.equals(invoked)) {
            for (Parameter p : invoked.getParameters()) {
                if (p.isAnnotationPresent(Arg.class)) {
                    throw new CeleriacException(source + ": @Arg on parameter '" + p.getName() + "' is not read: "
                            + "the task is declared by " + describe(declared) + ", so its @Arg go there");
                }
            }
        }
        Parameter[] all = declared.getParameters();
        Type[] generic = declared.getGenericParameterTypes();
        this.takesContext = all.length > 0 && all[0].getType() == TaskContext.class;
        int from = takesContext ? 1 : 0;
        if (takesContext && all[0].isAnnotationPresent(Arg.class)) {
            throw new CeleriacException(source + ": the TaskContext parameter is not an argument and takes no @Arg");
        }
        List<TaskParameter> ps = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = from; i < all.length; i++) {
            TaskParameter p = new TaskParameter(source, i - from + 1, all[i], generic[i], codec);
            if (p.name() != null && !names.add(p.name())) {
                throw new CeleriacException(source + ": two parameters take the keyword '" + p.name()
                        + "'; give one another @Arg(name = ...)");
            }
            ps.add(p);
        }
        this.params = List.copyOf(ps);
        method.setAccessible(true);
    }

    static String describe(Method m) {
        StringBuilder sb = new StringBuilder(m.getDeclaringClass().getName()).append('#').append(m.getName()).append('(');
        Class<?>[] ps = m.getParameterTypes();
        for (int i = 0; i < ps.length; i++) {
            sb.append(i == 0 ? "" : ", ").append(ps[i].getSimpleName());
        }
        return sb.append(')').toString();
    }

    String source() {
        return source;
    }

    /** Keyword names of the JSON parameters in order; null where unknown. */
    List<@Nullable String> parameterNames() {
        List<@Nullable String> names = new ArrayList<>();
        for (TaskParameter p : params) {
            names.add(p.name());
        }
        return names;
    }

    @Override
    public @Nullable Object run(TaskContext context, List<Object> args, Map<String, Object> kwargs) throws Exception {
        @Nullable Object[] values = bind(args, kwargs);
        @Nullable Object[] call;
        if (takesContext) {
            call = new Object[values.length + 1];
            call[0] = context;
            System.arraycopy(values, 0, call, 1, values.length);
        } else {
            call = values;
        }
        try {
            return method.invoke(target, call);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception ex) {
                throw ex;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    /**
     * Checks that a call would bind (counts, names, required parameters present) without converting the values:
     * what a producer can check before sending.
     */
    void checkShape(List<Object> args, Map<String, Object> kwargs) {
        bind(args, kwargs, false);
    }

    /** Maps JSON args onto the parameters; a mismatch is a {@link TaskArgumentException} naming the parameter. */
    @Nullable Object[] bind(List<Object> args, Map<String, Object> kwargs) {
        return bind(args, kwargs, true);
    }

    private @Nullable Object[] bind(List<Object> args, Map<String, Object> kwargs, boolean convert) {
        if (args.size() > params.size()) {
            throw new ArgumentMismatchException(source + " takes " + params.size() + " argument(s) but "
                    + args.size() + " positional were given");
        }
        @Nullable Object[] values = new Object[params.size()];
        int matchedKwargs = 0;
        for (int i = 0; i < values.length; i++) {
            TaskParameter p = params.get(i);
            String name = p.name();
            if (i < args.size()) {
                if (name != null && kwargs.containsKey(name)) {
                    throw new ArgumentMismatchException(source + " got multiple values for argument '" + name + "'");
                }
                values[i] = convert ? p.convert(args.get(i)) : null;
            } else if (name != null && kwargs.containsKey(name)) {
                values[i] = convert ? p.convert(kwargs.get(name)) : null;
                matchedKwargs++;
            } else if (p.canBeOmitted()) {
                values[i] = convert ? p.omittedValue() : null;
            } else {
                throw new ArgumentMismatchException(source + " is missing argument " + (i + 1)
                        + (name == null ? " (to pass it by keyword, name it with @Arg(name = ...) or compile with "
                                + "-parameters)" : " '" + name + "'")
                        + ": " + args.size() + " positional and " + kwargs.size() + " keyword argument(s) given");
            }
        }
        if (matchedKwargs < kwargs.size()) {
            List<String> unknown = new ArrayList<>(kwargs.keySet());
            unknown.removeAll(parameterNames());
            throw new ArgumentMismatchException(source + " got unexpected keyword argument(s) " + unknown);
        }
        return values;
    }
}
