package io.celeriac.task;

import java.util.Map;
import java.util.Objects;

/**
 * The typed send forms of {@link TypedSender} with send options of the caller's: what {@code app.with(options)}
 * returns. Its options are laid over those each task's {@link Task} declares; {@link #with} lays more over them.
 * Immutable and thread-safe, so one can be kept and shared.
 *
 * <pre>{@code
 * TaskCaller later = app.with(SendOptions.builder().countdown(Duration.ofMinutes(5)).build());
 * later.send(Invoices::total, order);
 * later.client(InvoiceClient.class).total(order);
 * Canvas.group(later.signature(Invoices::total, a), later.signature(Invoices::total, b)).applyAsync();
 * }</pre>
 */
public final class TaskCaller implements TypedSender {
    private final TaskStub.Sender sender;
    private final Canvas.Sender signatureSender;
    private final SendOptions options;

    /**
     * @param sender the app's send entry point
     * @param signatureSender what the signatures made here are bound to (the app)
     * @param options the caller's options, over those each task declares
     */
    public TaskCaller(TaskStub.Sender sender, Canvas.Sender signatureSender, SendOptions options) {
        this.sender = Objects.requireNonNull(sender, "sender");
        this.signatureSender = Objects.requireNonNull(signatureSender, "signatureSender");
        this.options = Objects.requireNonNull(options, "options");
    }

    /** The caller's options, before each task's own are laid under them. */
    public SendOptions options() {
        return options;
    }

    /** A caller whose options are {@code more} laid over these: each option {@code more} sets wins. */
    public TaskCaller with(SendOptions more) {
        return new TaskCaller(sender, signatureSender, more.orElse(options));
    }

    @Override
    public <R> TypedAsyncResult<R> send(TaskCall<R> call) {
        AsyncResult sent = sender.send(call.task(), call.args(), Map.of(), options.orElse(call.options()));
        return new TypedAsyncResult<>(sent, call.resultType());
    }

    @Override
    public Signature signature(TaskCall<?> call) {
        return new Signature(call.task(), call.args(), Map.of(), options.orElse(call.options()), signatureSender);
    }
}
