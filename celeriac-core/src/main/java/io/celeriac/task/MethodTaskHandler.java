package io.celeriac.task;

import io.celeriac.protocol.MessageCodec;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Parameter;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs a {@link Task}-annotated method: binds JSON args (positional, then kwargs by parameter name, which needs
 * {@code javac -parameters}) onto the method's parameters and converts each to the declared type with Jackson.
 */
final class MethodTaskHandler implements TaskHandler {
    private final Object target;
    private final Method method;
    private final boolean takesContext;
    private final Parameter[] params;
    private final Type[] types;
    private final MessageCodec codec;
    private final String source;

    MethodTaskHandler(Object target, Method method, MessageCodec codec) {
        this.target = Modifier.isStatic(method.getModifiers()) ? null : target;
        this.method = method;
        this.codec = codec;
        Parameter[] all = method.getParameters();
        this.takesContext = all.length > 0 && all[0].getType() == TaskContext.class;
        int from = takesContext ? 1 : 0;
        this.params = java.util.Arrays.copyOfRange(all, from, all.length);
        Type[] generic = method.getGenericParameterTypes();
        this.types = java.util.Arrays.copyOfRange(generic, from, generic.length);
        this.source = describe(method);
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

    List<String> parameterNames() {
        List<String> names = new ArrayList<>();
        for (Parameter p : params) {
            names.add(p.isNamePresent() ? p.getName() : null);
        }
        return names;
    }

    @Override
    public Object run(TaskContext context, List<Object> args, Map<String, Object> kwargs) throws Exception {
        Object[] values = bind(args, kwargs);
        Object[] call;
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

    /** Maps JSON args onto the parameters; a mismatch is a {@link TaskArgumentException} naming the parameter. */
    Object[] bind(List<Object> args, Map<String, Object> kwargs) {
        if (args.size() > params.length) {
            throw new ArgumentMismatchException(source + " takes " + params.length + " argument(s) but "
                    + args.size() + " positional were given");
        }
        Object[] values = new Object[params.length];
        int matchedKwargs = 0;
        for (int i = 0; i < params.length; i++) {
            Object raw;
            String name = params[i].isNamePresent() ? params[i].getName() : null;
            if (i < args.size()) {
                raw = args.get(i);
                if (name != null && kwargs.containsKey(name)) {
                    throw new ArgumentMismatchException(source + " got multiple values for argument '" + name + "'");
                }
            } else if (name != null && kwargs.containsKey(name)) {
                raw = kwargs.get(name);
                matchedKwargs++;
            } else {
                throw new ArgumentMismatchException(source + " is missing argument " + (i + 1)
                        + (name == null ? " (compile with -parameters to pass it by name)" : " '" + name + "'")
                        + ": " + args.size() + " positional and " + kwargs.size() + " keyword argument(s) given");
            }
            if (raw == null && params[i].getType().isPrimitive()) {
                throw new ArgumentMismatchException(source + ": argument '" + (name == null ? i + 1 : name)
                        + "' is null but the parameter is a " + params[i].getType());
            }
            try {
                values[i] = codec.fromJsonValue(raw, types[i]);
            } catch (IllegalArgumentException e) {
                throw new ArgumentMismatchException(source + ": argument '" + (name == null ? i + 1 : name)
                        + "' cannot be read as " + types[i].getTypeName() + ": " + e.getMessage(), e);
            }
        }
        if (matchedKwargs < kwargs.size()) {
            List<String> unknown = new ArrayList<>(kwargs.keySet());
            for (Parameter p : params) {
                unknown.remove(p.isNamePresent() ? p.getName() : "");
            }
            throw new ArgumentMismatchException(source + " got unexpected keyword argument(s) " + unknown);
        }
        return values;
    }
}
