package io.celeriac.task;

import org.jspecify.annotations.Nullable;

/**
 * Compile-checked ways to send a task: by a method reference to it, or through a client interface. The compiler
 * checks the task's arguments and its result type; the task's name (its {@link Task#name()}, or the default
 * {@code <declaring type>.<method>}) is read from the method, so it cannot be mistyped. {@code Celeriac} is one (its
 * sends use no options but those the task declares), and so is the {@link TaskCaller} that
 * {@code app.with(options)} returns.
 *
 * <pre>{@code
 * public interface Invoices {                       // shared by senders and the workers that implement it
 *     @Task(name = "invoices.total", queue = "invoices")
 *     Invoice total(Order order);
 * }
 *
 * TypedAsyncResult<Invoice> r = app.send(Invoices::total, order);
 * Invoice invoice = r.get(Duration.ofSeconds(10));
 * app.with(SendOptions.builder().countdown(Duration.ofMinutes(5)).build()).send(Invoices::total, order);
 * Canvas.chain(app.signature(Invoices::total, order), app.partial(Invoices::label, "INV-")).applyAsync();
 * }</pre>
 *
 * <p>A reference must name an instance method through its type ({@code Invoices::total}), whose {@link Task} is on
 * the method or on the interface method it implements: the worker registers the implementing class, and a sender
 * needs only the interface. Arguments must match the parameter types exactly (a {@code long} parameter takes
 * {@code 42L}, not {@code 42}). A method taking a {@link TaskContext} first is referenced the same way and called
 * without it. The argument and result values travel as JSON, as with {@code app.task(name).delay(...)}.
 *
 * <p>A send's options are the caller's ({@link TaskCaller#with}) laid over those the task's {@link Task} declares
 * ({@code queue}, {@code priority}, {@code expires}, {@code ignoreResult}, {@code unique}), so a sender that has not
 * registered the task still sends it where the declaration says. A typed send is an {@code applyAsync} underneath
 * and fails as one does: {@link TaskArgumentException} for a value that cannot travel,
 * {@code BrokerUnavailableException} once the publish retries are used up. What is not an unbound reference to a
 * {@link Task} method (a lambda, a static or bound method reference, a method without {@code @Task}) is refused
 * with {@link IllegalArgumentException} before anything is sent.
 *
 * <p>Implementations are thread-safe; a method reference is resolved once per place in the code that writes it.
 */
public interface TypedSender {

    /** Sends one call; what every typed {@code send} comes down to. */
    <R> TypedAsyncResult<R> send(TaskCall<R> call);

    /**
     * A signature of one call, Celery's {@code task.s(...)}: mutable, so in a chain it gets the previous step's
     * result as its first argument. The typed {@code signature} forms make theirs immutable, the {@code partial}
     * forms leave them so.
     */
    Signature signature(TaskCall<?> call);

    /**
     * A client for the tasks {@code type} declares: a proxy whose methods send their task and return its handle.
     * Each abstract method of the interface carries {@link Task} and returns {@link TypedAsyncResult}{@code <R>}
     * (or {@link AsyncResult}); calling it sends the task with the call's arguments, as a method reference would.
     * Such an interface declares the calling side only, so it serves for tasks implemented elsewhere (another
     * service, Python): {@code @Task(name = ...)} names the task as its worker registers it. Default methods run as
     * written. For an interface the worker implements, send with {@code send(Type::method, ...)} instead.
     *
     * <pre>{@code
     * public interface InvoiceClient {
     *     @Task(name = "invoices.total", queue = "invoices")
     *     TypedAsyncResult<Invoice> total(Order order);
     * }
     * TypedAsyncResult<Invoice> r = app.client(InvoiceClient.class).total(order);
     * }</pre>
     *
     * @throws IllegalArgumentException if {@code type} is not an interface, or one of its abstract methods has no
     *     {@code @Task}, returns something else, or takes a {@link TaskContext}
     */
    default <C> C client(Class<C> type) {
        return TaskClient.create(type, this);
    }

    /** Sends a task with 0 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, R> TypedAsyncResult<R> send(TaskMethod.Returning0<T, R> task) {
        return send(MethodReferences.call(task, false, false));
    }

    /**
     * Sends the task {@code task} refers to with these arguments: {@code app.send(Invoices::total, order)}.
     * The same for 0 to 6 arguments, for methods that return nothing, and for methods that take a
     * {@link TaskContext} first (left out here: the worker supplies it).
     *
     * @throws IllegalArgumentException if {@code task} is not an unbound reference to a {@link Task} method
     * @throws TaskArgumentException if an argument cannot travel as JSON
     */
    default <T, A, R> TypedAsyncResult<R> send(TaskMethod.Returning1<T, A, R> task, A a) {
        return send(MethodReferences.call(task, false, false, a));
    }

    /** Sends a task with 2 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, R> TypedAsyncResult<R> send(TaskMethod.Returning2<T, A, B, R> task, A a, B b) {
        return send(MethodReferences.call(task, false, false, a, b));
    }

    /** Sends a task with 3 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, R> TypedAsyncResult<R> send(TaskMethod.Returning3<T, A, B, C, R> task, A a, B b, C c) {
        return send(MethodReferences.call(task, false, false, a, b, c));
    }

    /** Sends a task with 4 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, R> TypedAsyncResult<R> send(TaskMethod.Returning4<T, A, B, C, D, R> task,
            A a, B b, C c, D d) {
        return send(MethodReferences.call(task, false, false, a, b, c, d));
    }

    /** Sends a task with 5 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, R> TypedAsyncResult<R> send(TaskMethod.Returning5<T, A, B, C, D, E, R> task,
            A a, B b, C c, D d, E e) {
        return send(MethodReferences.call(task, false, false, a, b, c, d, e));
    }

    /** Sends a task with 6 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F, R> TypedAsyncResult<R> send(TaskMethod.Returning6<T, A, B, C, D, E, F, R> task,
            A a, B b, C c, D d, E e, F f) {
        return send(MethodReferences.call(task, false, false, a, b, c, d, e, f));
    }

    /** Sends a task with 0 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T> TypedAsyncResult<@Nullable Void> send(TaskMethod.Void0<T> task) {
        return send(MethodReferences.call(task, false, false));
    }

    /** Sends a task with 1 argument; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A> TypedAsyncResult<@Nullable Void> send(TaskMethod.Void1<T, A> task, A a) {
        return send(MethodReferences.call(task, false, false, a));
    }

    /** Sends a task with 2 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B> TypedAsyncResult<@Nullable Void> send(TaskMethod.Void2<T, A, B> task, A a, B b) {
        return send(MethodReferences.call(task, false, false, a, b));
    }

    /** Sends a task with 3 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C> TypedAsyncResult<@Nullable Void> send(TaskMethod.Void3<T, A, B, C> task, A a, B b, C c) {
        return send(MethodReferences.call(task, false, false, a, b, c));
    }

    /** Sends a task with 4 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D> TypedAsyncResult<@Nullable Void> send(TaskMethod.Void4<T, A, B, C, D> task,
            A a, B b, C c, D d) {
        return send(MethodReferences.call(task, false, false, a, b, c, d));
    }

    /** Sends a task with 5 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E> TypedAsyncResult<@Nullable Void> send(TaskMethod.Void5<T, A, B, C, D, E> task,
            A a, B b, C c, D d, E e) {
        return send(MethodReferences.call(task, false, false, a, b, c, d, e));
    }

    /** Sends a task with 6 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F> TypedAsyncResult<@Nullable Void> send(TaskMethod.Void6<T, A, B, C, D, E, F> task,
            A a, B b, C c, D d, E e, F f) {
        return send(MethodReferences.call(task, false, false, a, b, c, d, e, f));
    }

    /** Sends a task with 0 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, R> TypedAsyncResult<R> send(TaskMethod.ContextReturning0<T, R> task) {
        return send(MethodReferences.call(task, true, false));
    }

    /** Sends a task with 1 argument; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, R> TypedAsyncResult<R> send(TaskMethod.ContextReturning1<T, A, R> task, A a) {
        return send(MethodReferences.call(task, true, false, a));
    }

    /** Sends a task with 2 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, R> TypedAsyncResult<R> send(TaskMethod.ContextReturning2<T, A, B, R> task, A a, B b) {
        return send(MethodReferences.call(task, true, false, a, b));
    }

    /** Sends a task with 3 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, R> TypedAsyncResult<R> send(TaskMethod.ContextReturning3<T, A, B, C, R> task, A a, B b, C c) {
        return send(MethodReferences.call(task, true, false, a, b, c));
    }

    /** Sends a task with 4 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, R> TypedAsyncResult<R> send(TaskMethod.ContextReturning4<T, A, B, C, D, R> task,
            A a, B b, C c, D d) {
        return send(MethodReferences.call(task, true, false, a, b, c, d));
    }

    /** Sends a task with 5 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, R> TypedAsyncResult<R> send(TaskMethod.ContextReturning5<T, A, B, C, D, E, R> task,
            A a, B b, C c, D d, E e) {
        return send(MethodReferences.call(task, true, false, a, b, c, d, e));
    }

    /** Sends a task with 6 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F, R> TypedAsyncResult<R> send(TaskMethod.ContextReturning6<T, A, B, C, D, E, F, R> task,
            A a, B b, C c, D d, E e, F f) {
        return send(MethodReferences.call(task, true, false, a, b, c, d, e, f));
    }

    /** Sends a task with 0 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T> TypedAsyncResult<@Nullable Void> send(TaskMethod.ContextVoid0<T> task) {
        return send(MethodReferences.call(task, true, false));
    }

    /** Sends a task with 1 argument; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A> TypedAsyncResult<@Nullable Void> send(TaskMethod.ContextVoid1<T, A> task, A a) {
        return send(MethodReferences.call(task, true, false, a));
    }

    /** Sends a task with 2 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B> TypedAsyncResult<@Nullable Void> send(TaskMethod.ContextVoid2<T, A, B> task, A a, B b) {
        return send(MethodReferences.call(task, true, false, a, b));
    }

    /** Sends a task with 3 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C> TypedAsyncResult<@Nullable Void> send(TaskMethod.ContextVoid3<T, A, B, C> task,
            A a, B b, C c) {
        return send(MethodReferences.call(task, true, false, a, b, c));
    }

    /** Sends a task with 4 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D> TypedAsyncResult<@Nullable Void> send(TaskMethod.ContextVoid4<T, A, B, C, D> task,
            A a, B b, C c, D d) {
        return send(MethodReferences.call(task, true, false, a, b, c, d));
    }

    /** Sends a task with 5 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E> TypedAsyncResult<@Nullable Void> send(TaskMethod.ContextVoid5<T, A, B, C, D, E> task,
            A a, B b, C c, D d, E e) {
        return send(MethodReferences.call(task, true, false, a, b, c, d, e));
    }

    /** Sends a task with 6 arguments; as {@link #send(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F> TypedAsyncResult<@Nullable Void> send(
            TaskMethod.ContextVoid6<T, A, B, C, D, E, F> task,
            A a, B b, C c, D d, E e, F f) {
        return send(MethodReferences.call(task, true, false, a, b, c, d, e, f));
    }

    /** A signature with 0 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, R> Signature signature(TaskMethod.Returning0<T, R> task) {
        return signature(MethodReferences.call(task, false, false)).si();
    }

    /**
     * A signature of the task {@code task} refers to, with all its arguments, for a canvas:
     * {@code Canvas.group(app.signature(Invoices::total, a), app.signature(Invoices::total, b))}. It is immutable
     * (Celery's {@code si()}): it already has every argument its method takes, so in a chain it does not get the
     * previous step's result; {@link #partial(TaskMethod.Returning1)} makes one that does. The same for 0 to 6
     * arguments, for methods that return nothing, and for methods that take a {@link TaskContext} first.
     *
     * @throws IllegalArgumentException if {@code task} is not an unbound reference to a {@link Task} method
     */
    default <T, A, R> Signature signature(TaskMethod.Returning1<T, A, R> task, A a) {
        return signature(MethodReferences.call(task, false, false, a)).si();
    }

    /** A signature with 2 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, R> Signature signature(TaskMethod.Returning2<T, A, B, R> task, A a, B b) {
        return signature(MethodReferences.call(task, false, false, a, b)).si();
    }

    /** A signature with 3 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, R> Signature signature(TaskMethod.Returning3<T, A, B, C, R> task, A a, B b, C c) {
        return signature(MethodReferences.call(task, false, false, a, b, c)).si();
    }

    /** A signature with 4 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, R> Signature signature(TaskMethod.Returning4<T, A, B, C, D, R> task, A a, B b, C c, D d) {
        return signature(MethodReferences.call(task, false, false, a, b, c, d)).si();
    }

    /** A signature with 5 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, R> Signature signature(TaskMethod.Returning5<T, A, B, C, D, E, R> task,
            A a, B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, false, false, a, b, c, d, e)).si();
    }

    /** A signature with 6 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F, R> Signature signature(TaskMethod.Returning6<T, A, B, C, D, E, F, R> task,
            A a, B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, false, false, a, b, c, d, e, f)).si();
    }

    /** A signature with 0 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T> Signature signature(TaskMethod.Void0<T> task) {
        return signature(MethodReferences.call(task, false, false)).si();
    }

    /** A signature with 1 argument; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A> Signature signature(TaskMethod.Void1<T, A> task, A a) {
        return signature(MethodReferences.call(task, false, false, a)).si();
    }

    /** A signature with 2 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B> Signature signature(TaskMethod.Void2<T, A, B> task, A a, B b) {
        return signature(MethodReferences.call(task, false, false, a, b)).si();
    }

    /** A signature with 3 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C> Signature signature(TaskMethod.Void3<T, A, B, C> task, A a, B b, C c) {
        return signature(MethodReferences.call(task, false, false, a, b, c)).si();
    }

    /** A signature with 4 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D> Signature signature(TaskMethod.Void4<T, A, B, C, D> task, A a, B b, C c, D d) {
        return signature(MethodReferences.call(task, false, false, a, b, c, d)).si();
    }

    /** A signature with 5 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E> Signature signature(TaskMethod.Void5<T, A, B, C, D, E> task, A a, B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, false, false, a, b, c, d, e)).si();
    }

    /** A signature with 6 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F> Signature signature(TaskMethod.Void6<T, A, B, C, D, E, F> task,
            A a, B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, false, false, a, b, c, d, e, f)).si();
    }

    /** A signature with 0 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, R> Signature signature(TaskMethod.ContextReturning0<T, R> task) {
        return signature(MethodReferences.call(task, true, false)).si();
    }

    /** A signature with 1 argument; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, R> Signature signature(TaskMethod.ContextReturning1<T, A, R> task, A a) {
        return signature(MethodReferences.call(task, true, false, a)).si();
    }

    /** A signature with 2 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, R> Signature signature(TaskMethod.ContextReturning2<T, A, B, R> task, A a, B b) {
        return signature(MethodReferences.call(task, true, false, a, b)).si();
    }

    /** A signature with 3 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, R> Signature signature(TaskMethod.ContextReturning3<T, A, B, C, R> task, A a, B b, C c) {
        return signature(MethodReferences.call(task, true, false, a, b, c)).si();
    }

    /** A signature with 4 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, R> Signature signature(TaskMethod.ContextReturning4<T, A, B, C, D, R> task,
            A a, B b, C c, D d) {
        return signature(MethodReferences.call(task, true, false, a, b, c, d)).si();
    }

    /** A signature with 5 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, R> Signature signature(TaskMethod.ContextReturning5<T, A, B, C, D, E, R> task,
            A a, B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, true, false, a, b, c, d, e)).si();
    }

    /** A signature with 6 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F, R> Signature signature(TaskMethod.ContextReturning6<T, A, B, C, D, E, F, R> task,
            A a, B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, true, false, a, b, c, d, e, f)).si();
    }

    /** A signature with 0 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T> Signature signature(TaskMethod.ContextVoid0<T> task) {
        return signature(MethodReferences.call(task, true, false)).si();
    }

    /** A signature with 1 argument; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A> Signature signature(TaskMethod.ContextVoid1<T, A> task, A a) {
        return signature(MethodReferences.call(task, true, false, a)).si();
    }

    /** A signature with 2 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B> Signature signature(TaskMethod.ContextVoid2<T, A, B> task, A a, B b) {
        return signature(MethodReferences.call(task, true, false, a, b)).si();
    }

    /** A signature with 3 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C> Signature signature(TaskMethod.ContextVoid3<T, A, B, C> task, A a, B b, C c) {
        return signature(MethodReferences.call(task, true, false, a, b, c)).si();
    }

    /** A signature with 4 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D> Signature signature(TaskMethod.ContextVoid4<T, A, B, C, D> task, A a, B b, C c, D d) {
        return signature(MethodReferences.call(task, true, false, a, b, c, d)).si();
    }

    /** A signature with 5 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E> Signature signature(TaskMethod.ContextVoid5<T, A, B, C, D, E> task,
            A a, B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, true, false, a, b, c, d, e)).si();
    }

    /** A signature with 6 arguments; as {@link #signature(TaskMethod.Returning1, Object)}. */
    default <T, A, B, C, D, E, F> Signature signature(TaskMethod.ContextVoid6<T, A, B, C, D, E, F> task,
            A a, B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, true, false, a, b, c, d, e, f)).si();
    }

    /**
     * A partial signature of the task {@code task} refers to, Celery's {@code task.s(...)} with its first argument
     * left out: a chain fills it with the previous step's result, a chord's body with the list of the header's
     * results, a callback ({@link Signature#link}) with its parent's result.
     * {@code Canvas.chain(app.signature(Invoices::total, order), app.partial(Invoices::label, "INV-"))} runs
     * {@code label(total(order), "INV-")}. The arguments given are the ones after the first; the same for methods
     * of 1 to 6 arguments, for methods that return nothing, and for methods that take a {@link TaskContext} first.
     * The compiler checks the arguments given, not the type of the one a canvas fills in.
     *
     * @throws IllegalArgumentException if {@code task} is not an unbound reference to a {@link Task} method
     */
    default <T, A, R> Signature partial(TaskMethod.Returning1<T, A, R> task) {
        return signature(MethodReferences.call(task, false, true));
    }

    /** A partial signature of a task of 2 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, R> Signature partial(TaskMethod.Returning2<T, A, B, R> task, B b) {
        return signature(MethodReferences.call(task, false, true, b));
    }

    /** A partial signature of a task of 3 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, R> Signature partial(TaskMethod.Returning3<T, A, B, C, R> task, B b, C c) {
        return signature(MethodReferences.call(task, false, true, b, c));
    }

    /** A partial signature of a task of 4 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, R> Signature partial(TaskMethod.Returning4<T, A, B, C, D, R> task, B b, C c, D d) {
        return signature(MethodReferences.call(task, false, true, b, c, d));
    }

    /** A partial signature of a task of 5 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E, R> Signature partial(TaskMethod.Returning5<T, A, B, C, D, E, R> task,
            B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, false, true, b, c, d, e));
    }

    /** A partial signature of a task of 6 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E, F, R> Signature partial(TaskMethod.Returning6<T, A, B, C, D, E, F, R> task,
            B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, false, true, b, c, d, e, f));
    }

    /** A partial signature of a task of 1 argument; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A> Signature partial(TaskMethod.Void1<T, A> task) {
        return signature(MethodReferences.call(task, false, true));
    }

    /** A partial signature of a task of 2 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B> Signature partial(TaskMethod.Void2<T, A, B> task, B b) {
        return signature(MethodReferences.call(task, false, true, b));
    }

    /** A partial signature of a task of 3 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C> Signature partial(TaskMethod.Void3<T, A, B, C> task, B b, C c) {
        return signature(MethodReferences.call(task, false, true, b, c));
    }

    /** A partial signature of a task of 4 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D> Signature partial(TaskMethod.Void4<T, A, B, C, D> task, B b, C c, D d) {
        return signature(MethodReferences.call(task, false, true, b, c, d));
    }

    /** A partial signature of a task of 5 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E> Signature partial(TaskMethod.Void5<T, A, B, C, D, E> task, B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, false, true, b, c, d, e));
    }

    /** A partial signature of a task of 6 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E, F> Signature partial(TaskMethod.Void6<T, A, B, C, D, E, F> task,
            B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, false, true, b, c, d, e, f));
    }

    /** A partial signature of a task of 1 argument; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, R> Signature partial(TaskMethod.ContextReturning1<T, A, R> task) {
        return signature(MethodReferences.call(task, true, true));
    }

    /** A partial signature of a task of 2 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, R> Signature partial(TaskMethod.ContextReturning2<T, A, B, R> task, B b) {
        return signature(MethodReferences.call(task, true, true, b));
    }

    /** A partial signature of a task of 3 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, R> Signature partial(TaskMethod.ContextReturning3<T, A, B, C, R> task, B b, C c) {
        return signature(MethodReferences.call(task, true, true, b, c));
    }

    /** A partial signature of a task of 4 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, R> Signature partial(TaskMethod.ContextReturning4<T, A, B, C, D, R> task, B b, C c, D d) {
        return signature(MethodReferences.call(task, true, true, b, c, d));
    }

    /** A partial signature of a task of 5 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E, R> Signature partial(TaskMethod.ContextReturning5<T, A, B, C, D, E, R> task,
            B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, true, true, b, c, d, e));
    }

    /** A partial signature of a task of 6 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E, F, R> Signature partial(TaskMethod.ContextReturning6<T, A, B, C, D, E, F, R> task,
            B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, true, true, b, c, d, e, f));
    }

    /** A partial signature of a task of 1 argument; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A> Signature partial(TaskMethod.ContextVoid1<T, A> task) {
        return signature(MethodReferences.call(task, true, true));
    }

    /** A partial signature of a task of 2 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B> Signature partial(TaskMethod.ContextVoid2<T, A, B> task, B b) {
        return signature(MethodReferences.call(task, true, true, b));
    }

    /** A partial signature of a task of 3 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C> Signature partial(TaskMethod.ContextVoid3<T, A, B, C> task, B b, C c) {
        return signature(MethodReferences.call(task, true, true, b, c));
    }

    /** A partial signature of a task of 4 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D> Signature partial(TaskMethod.ContextVoid4<T, A, B, C, D> task, B b, C c, D d) {
        return signature(MethodReferences.call(task, true, true, b, c, d));
    }

    /** A partial signature of a task of 5 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E> Signature partial(TaskMethod.ContextVoid5<T, A, B, C, D, E> task, B b, C c, D d, E e) {
        return signature(MethodReferences.call(task, true, true, b, c, d, e));
    }

    /** A partial signature of a task of 6 arguments; as {@link #partial(TaskMethod.Returning1)}. */
    default <T, A, B, C, D, E, F> Signature partial(TaskMethod.ContextVoid6<T, A, B, C, D, E, F> task,
            B b, C c, D d, E e, F f) {
        return signature(MethodReferences.call(task, true, true, b, c, d, e, f));
    }
}
