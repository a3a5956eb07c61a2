package io.celeriac.task;

import io.celeriac.CeleriacException;
import io.celeriac.protocol.MessageCodec;

import java.lang.annotation.Annotation;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Parameter;
import java.lang.reflect.Type;
import java.lang.reflect.WildcardType;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * One JSON parameter of a {@link Task} method: the keyword it binds to, how a JSON value becomes its Java type, and
 * what it takes when the caller leaves it out (its {@link Arg} default, {@code Optional.empty()}, or null if it is
 * {@code @Nullable}). Everything that can be wrong with a default is found when the task is registered.
 */
final class TaskParameter {
    private enum WhenOmitted { REQUIRED, DEFAULT, EMPTY, NULL }

    private final String source;
    private final int position;
    private final @Nullable String name;
    private final Type type;
    private final boolean primitive;
    private final boolean optional;
    private final Type valueType;
    private final WhenOmitted whenOmitted;
    private final @Nullable Object defaultJson;
    private final MessageCodec codec;

    /**
     * @param position 1-based among the JSON parameters (a leading {@link TaskContext} is not counted), as the
     *     messages callers see number them
     * @throws CeleriacException if the {@link Arg} default is not JSON or does not fit the parameter's type
     */
    TaskParameter(String source, int position, Parameter p, Type type, MessageCodec codec) {
        this.source = source;
        this.position = position;
        this.type = type;
        this.codec = codec;
        this.primitive = p.getType().isPrimitive();
        this.optional = p.getType() == Optional.class;
        this.valueType = optional ? optionalValueType(type) : type;
        Arg arg = p.getAnnotation(Arg.class);
        String declared = arg == null ? "" : arg.name();
        this.name = !declared.isEmpty() ? declared : p.isNamePresent() ? p.getName() : null;
        boolean nullable = isNullable(p);
        if (nullable && primitive) {
            throw new CeleriacException(source + ": parameter '" + label() + "' is @Nullable but a primitive "
                    + p.getType() + ", which cannot be null; make it " + boxed(p.getType()) + " or drop @Nullable");
        }
        if (arg != null && !arg.defaultValue().isEmpty()) {
            this.whenOmitted = WhenOmitted.DEFAULT;
            this.defaultJson = parseDefault(arg.defaultValue());
            try {
                convert(defaultJson);
            } catch (ArgumentMismatchException e) {
                String why = e.getCause() != null ? e.getCause().getMessage() : "a primitive cannot be null";
                throw new CeleriacException(source + ": the default of parameter '" + label() + "', "
                        + "@Arg(defaultValue = " + quoted(arg.defaultValue()) + "), cannot be read as "
                        + type.getTypeName() + ": " + why, e);
            }
        } else {
            this.defaultJson = null;
            this.whenOmitted = optional ? WhenOmitted.EMPTY : nullable ? WhenOmitted.NULL : WhenOmitted.REQUIRED;
        }
    }

    /** The keyword name, or null when it is unknown (compiled without -parameters and no {@link Arg#name()}). */
    @Nullable String name() {
        return name;
    }

    /** Whether a call may leave this parameter out. */
    boolean canBeOmitted() {
        return whenOmitted != WhenOmitted.REQUIRED;
    }

    /** The value of a parameter the caller left out; only when {@link #canBeOmitted()}. */
    @Nullable Object omittedValue() {
        return switch (whenOmitted) {
            // Converted for each run, so a list or map a run changes is not what the next run gets.
            case DEFAULT -> convert(defaultJson);
            case EMPTY -> Optional.empty();
            case NULL -> null;
            case REQUIRED -> throw new IllegalStateException("parameter '" + label() + "' is required");
        };
    }

    /** Converts one JSON value from a message; a mismatch is an {@link ArgumentMismatchException}. */
    @Nullable Object convert(@Nullable Object raw) {
        if (optional) {
            return raw == null ? Optional.empty() : Optional.ofNullable(read(raw, valueType));
        }
        if (raw == null && primitive) {
            throw new ArgumentMismatchException(source + ": argument '" + label()
                    + "' is null but the parameter is a " + type.getTypeName());
        }
        return read(raw, type);
    }

    private @Nullable Object read(@Nullable Object raw, Type target) {
        try {
            return codec.fromJsonValue(raw, target);
        } catch (IllegalArgumentException e) {
            throw new ArgumentMismatchException(source + ": argument '" + label() + "' cannot be read as "
                    + target.getTypeName() + ": " + e.getMessage(), e);
        }
    }

    private @Nullable Object parseDefault(String json) {
        Object parsed;
        try {
            // Inside brackets, so that text after the value ("1, 2" meant as a list) shows up as a second element
            // rather than being skipped, as the parser skips trailing text.
            parsed = codec.readJson("[" + json + "\n]");
        } catch (CeleriacException e) {
            throw notJson(json, e.getMessage().replaceFirst("^refused: ", ""), e);
        }
        if (!(parsed instanceof List<?> list) || list.size() != 1) {
            throw notJson(json, "it holds more than one value", null);
        }
        return list.get(0);
    }

    private CeleriacException notJson(String json, String why, @Nullable Throwable cause) {
        return new CeleriacException(source + ": the default of parameter '" + label() + "', @Arg(defaultValue = "
                + quoted(json) + "), is not one JSON value (" + why + "). Defaults are JSON text: write a string "
                + "with its quotes, defaultValue = \"\\\"text\\\"\", and a list in brackets, \"[1, 2]\"", cause);
    }

    /** {@code Optional<T>} carries T; a raw {@code Optional} carries any JSON value. */
    private static Type optionalValueType(Type type) {
        if (type instanceof ParameterizedType pt) {
            Type t = pt.getActualTypeArguments()[0];
            return t instanceof WildcardType w ? w.getUpperBounds()[0] : t;
        }
        return Object.class;
    }

    /**
     * Any annotation named {@code Nullable} counts (JSpecify, JSR 305, Checker Framework...), whether it is declared on
     * the parameter or, as JSpecify's is, on its type; core does not depend on any of them. Only annotations kept at
     * run time can be seen.
     */
    private static boolean isNullable(Parameter p) {
        return hasNullable(p.getAnnotations()) || hasNullable(p.getAnnotatedType().getAnnotations());
    }

    private static boolean hasNullable(Annotation[] annotations) {
        for (Annotation a : annotations) {
            if (a.annotationType().getSimpleName().equals("Nullable")) {
                return true;
            }
        }
        return false;
    }

    private static String boxed(Class<?> primitive) {
        return primitive == int.class ? "Integer" : primitive == char.class ? "Character"
                : Character.toUpperCase(primitive.getName().charAt(0)) + primitive.getName().substring(1);
    }

    private static String quoted(String text) {
        return '"' + text.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    /** Name, or position when the name is unknown, as error messages show the parameter. */
    private String label() {
        return name == null ? Integer.toString(position) : name;
    }
}
