package io.celeriac.task;

import java.io.Serializable;

/**
 * The shapes of a {@link Task} method as a method reference, {@code EmailTasks::sendWelcome}, for the typed send
 * forms of {@link TypedSender}: the type that declares the task first, then its arguments, then its result. One
 * interface per number of arguments (0 to 6), in four kinds: methods that return a value ({@code Returning}) or
 * nothing ({@code Void}), each with or without a leading {@link TaskContext} ({@code Context...}, Celery's
 * {@code bind=True}; the worker supplies the context, so a caller passes only the arguments after it).
 *
 * <p>Nobody implements these by hand. They are {@link Serializable} only so that the method a reference names can
 * be read from the {@link java.lang.invoke.SerializedLambda} the compiler generates for it: that name, and nothing
 * Java-serialized, is what goes on the wire. The methods declare {@code throws Exception} so that a task which
 * throws checked exceptions can be referenced too; they are never called.
 */
public final class TaskMethod {
    private TaskMethod() {
    }

    /** A task method of 0 arguments that returns a value. */
    @FunctionalInterface
    public interface Returning0<T, R> extends Serializable {
        R call(T tasks) throws Exception;
    }

    /** A task method of 1 argument that returns a value. */
    @FunctionalInterface
    public interface Returning1<T, A, R> extends Serializable {
        R call(T tasks, A a) throws Exception;
    }

    /** A task method of 2 arguments that returns a value. */
    @FunctionalInterface
    public interface Returning2<T, A, B, R> extends Serializable {
        R call(T tasks, A a, B b) throws Exception;
    }

    /** A task method of 3 arguments that returns a value. */
    @FunctionalInterface
    public interface Returning3<T, A, B, C, R> extends Serializable {
        R call(T tasks, A a, B b, C c) throws Exception;
    }

    /** A task method of 4 arguments that returns a value. */
    @FunctionalInterface
    public interface Returning4<T, A, B, C, D, R> extends Serializable {
        R call(T tasks, A a, B b, C c, D d) throws Exception;
    }

    /** A task method of 5 arguments that returns a value. */
    @FunctionalInterface
    public interface Returning5<T, A, B, C, D, E, R> extends Serializable {
        R call(T tasks, A a, B b, C c, D d, E e) throws Exception;
    }

    /** A task method of 6 arguments that returns a value. */
    @FunctionalInterface
    public interface Returning6<T, A, B, C, D, E, F, R> extends Serializable {
        R call(T tasks, A a, B b, C c, D d, E e, F f) throws Exception;
    }

    /** A task method of 0 arguments that returns nothing. */
    @FunctionalInterface
    public interface Void0<T> extends Serializable {
        void call(T tasks) throws Exception;
    }

    /** A task method of 1 argument that returns nothing. */
    @FunctionalInterface
    public interface Void1<T, A> extends Serializable {
        void call(T tasks, A a) throws Exception;
    }

    /** A task method of 2 arguments that returns nothing. */
    @FunctionalInterface
    public interface Void2<T, A, B> extends Serializable {
        void call(T tasks, A a, B b) throws Exception;
    }

    /** A task method of 3 arguments that returns nothing. */
    @FunctionalInterface
    public interface Void3<T, A, B, C> extends Serializable {
        void call(T tasks, A a, B b, C c) throws Exception;
    }

    /** A task method of 4 arguments that returns nothing. */
    @FunctionalInterface
    public interface Void4<T, A, B, C, D> extends Serializable {
        void call(T tasks, A a, B b, C c, D d) throws Exception;
    }

    /** A task method of 5 arguments that returns nothing. */
    @FunctionalInterface
    public interface Void5<T, A, B, C, D, E> extends Serializable {
        void call(T tasks, A a, B b, C c, D d, E e) throws Exception;
    }

    /** A task method of 6 arguments that returns nothing. */
    @FunctionalInterface
    public interface Void6<T, A, B, C, D, E, F> extends Serializable {
        void call(T tasks, A a, B b, C c, D d, E e, F f) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 0 arguments, that returns a value. */
    @FunctionalInterface
    public interface ContextReturning0<T, R> extends Serializable {
        R call(T tasks, TaskContext context) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 1 argument, that returns a value. */
    @FunctionalInterface
    public interface ContextReturning1<T, A, R> extends Serializable {
        R call(T tasks, TaskContext context, A a) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 2 arguments, that returns a value. */
    @FunctionalInterface
    public interface ContextReturning2<T, A, B, R> extends Serializable {
        R call(T tasks, TaskContext context, A a, B b) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 3 arguments, that returns a value. */
    @FunctionalInterface
    public interface ContextReturning3<T, A, B, C, R> extends Serializable {
        R call(T tasks, TaskContext context, A a, B b, C c) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 4 arguments, that returns a value. */
    @FunctionalInterface
    public interface ContextReturning4<T, A, B, C, D, R> extends Serializable {
        R call(T tasks, TaskContext context, A a, B b, C c, D d) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 5 arguments, that returns a value. */
    @FunctionalInterface
    public interface ContextReturning5<T, A, B, C, D, E, R> extends Serializable {
        R call(T tasks, TaskContext context, A a, B b, C c, D d, E e) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 6 arguments, that returns a value. */
    @FunctionalInterface
    public interface ContextReturning6<T, A, B, C, D, E, F, R> extends Serializable {
        R call(T tasks, TaskContext context, A a, B b, C c, D d, E e, F f) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 0 arguments, that returns nothing. */
    @FunctionalInterface
    public interface ContextVoid0<T> extends Serializable {
        void call(T tasks, TaskContext context) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 1 argument, that returns nothing. */
    @FunctionalInterface
    public interface ContextVoid1<T, A> extends Serializable {
        void call(T tasks, TaskContext context, A a) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 2 arguments, that returns nothing. */
    @FunctionalInterface
    public interface ContextVoid2<T, A, B> extends Serializable {
        void call(T tasks, TaskContext context, A a, B b) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 3 arguments, that returns nothing. */
    @FunctionalInterface
    public interface ContextVoid3<T, A, B, C> extends Serializable {
        void call(T tasks, TaskContext context, A a, B b, C c) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 4 arguments, that returns nothing. */
    @FunctionalInterface
    public interface ContextVoid4<T, A, B, C, D> extends Serializable {
        void call(T tasks, TaskContext context, A a, B b, C c, D d) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 5 arguments, that returns nothing. */
    @FunctionalInterface
    public interface ContextVoid5<T, A, B, C, D, E> extends Serializable {
        void call(T tasks, TaskContext context, A a, B b, C c, D d, E e) throws Exception;
    }

    /** A task method taking a {@link TaskContext} and 6 arguments, that returns nothing. */
    @FunctionalInterface
    public interface ContextVoid6<T, A, B, C, D, E, F> extends Serializable {
        void call(T tasks, TaskContext context, A a, B b, C c, D d, E e, F f) throws Exception;
    }
}
