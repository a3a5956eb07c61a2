package io.celeriac;

import io.celeriac.backend.InMemoryResultBackend;
import io.celeriac.backend.ResultBackend;
import io.celeriac.broker.Broker;
import io.celeriac.broker.BrokerProvider;
import io.celeriac.broker.BrokerUnavailableException;
import io.celeriac.broker.ControlBus;
import io.celeriac.broker.InMemoryBroker;
import io.celeriac.broker.OnceDispatch;
import io.celeriac.broker.OutboundMessage;
import io.celeriac.control.ControlMessage;
import io.celeriac.protocol.MessageCodec;
import io.celeriac.protocol.PythonRepr;
import io.celeriac.protocol.TaskMessage;
import io.celeriac.backend.ChordCounter;
import io.celeriac.canvas.CanvasPlanner;
import io.celeriac.task.AsyncResult;
import io.celeriac.task.Canvas;
import io.celeriac.task.Chain;
import io.celeriac.task.Chord;
import io.celeriac.task.Group;
import io.celeriac.task.GroupResult;
import io.celeriac.task.CurrentTask;
import io.celeriac.task.PublishRetryPolicy;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;
import io.celeriac.task.TaskArgumentException;
import io.celeriac.task.TaskCall;
import io.celeriac.task.TaskCaller;
import io.celeriac.task.TaskDefinition;
import io.celeriac.task.TaskRegistry;
import io.celeriac.task.TaskRequest;
import io.celeriac.task.TaskStub;
import io.celeriac.task.TypedAsyncResult;
import io.celeriac.task.TypedSender;
import io.celeriac.worker.EagerExecutor;
import io.celeriac.worker.Worker;
import io.celeriac.worker.WorkerEnvironment;

import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import java.util.UUID;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * A Celeriac application: configuration, the task registry, the broker and the result backend. It sends tasks and
 * creates workers. One per process is usual.
 *
 * <pre>{@code
 * Celeriac app = Celeriac.builder().config(CeleriacConfig.load()).register(new EmailTasks()).build();
 * AsyncResult r = app.task("emails.send_welcome").delay(userId);
 * TypedAsyncResult<Welcome> w = app.send(EmailTasks::sendWelcome, userId);   // name and types checked by javac
 * }</pre>
 *
 * <p>The typed forms ({@code send}, {@code signature} and {@code partial} with a method reference, {@code client}
 * with an interface, {@code with(options)}) are {@link TypedSender}'s; the forms by name are for tasks this code
 * cannot reference, Python's say.
 */
public final class Celeriac implements AutoCloseable, Canvas.Sender, TypedSender {
    /** Broker key that holds a unique task's id while it is pending or running. */
    private static final String UNIQUE_KEY_PREFIX = io.celeriac.protocol.UniqueTask.KEY_PREFIX;
    /** Header marking a unique task, so the worker releases its key when the task is done. */
    private static final String UNIQUE_HEADER = io.celeriac.protocol.UniqueTask.HEADER;
    /** Upper bound on how long a unique key lives if its task is lost (e.g. acks-early and a crash). */
    static final java.time.Duration UNIQUE_KEY_TTL = java.time.Duration.ofDays(1);
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Celeriac.class);

    private final CeleriacConfig config;
    private final TaskRegistry registry;
    private final MessageCodec codec;
    private final Broker broker;
    private final ResultBackend backend;
    private final Clock clock;
    private final String origin;
    /** Celery's {@code app.oid}: a sent task's {@code reply_to}; the backend's reply queue when it has one (rpc). */
    private final String replyTo;
    private final EagerExecutor eager;
    private final boolean ownsBroker;
    private final boolean ownsBackend;
    private final List<HeaderProvider> headerProviders;
    private final List<io.celeriac.worker.TaskInterceptor> interceptors;
    private final CanvasPlanner planner;
    private final EagerCanvas eagerCanvas;
    /** The typed forms with no options but those each task declares. */
    private final TaskCaller typed;
    private final SendChain sends;

    private Celeriac(Builder b) {
        this.config = b.config;
        this.codec = b.codec;
        this.registry = b.registry;
        this.clock = b.clock;
        Broker br = b.broker;
        ResultBackend rb = b.backend;
        this.ownsBroker = br == null;
        this.ownsBackend = rb == null;
        if (br == null) {
            br = createBroker(config);
        }
        if (rb == null) {
            rb = createBackend(config, clock);
        }
        this.broker = br;
        this.backend = rb;
        this.replyTo = rb.replyQueue().orElseGet(() -> UUID.randomUUID().toString());
        this.origin = "gen" + ProcessHandle.current().pid() + "@" + host();
        this.headerProviders = List.copyOf(b.headerProviders);
        this.interceptors = List.copyOf(b.interceptors);
        this.eager = new EagerExecutor(workerEnvironment(), this::buildMessage);
        this.planner = new CanvasPlanner(this::buildCanvasMessage);
        this.eagerCanvas = new EagerCanvas(this::applyAsync);
        this.typed = new TaskCaller(this::applyAsync, this, SendOptions.none());
        this.sends = new SendChain(b.sendInterceptors);
    }

    public static Builder builder() {
        return new Builder();
    }

    private static Broker createBroker(CeleriacConfig config) {
        String url = config.brokerUrl();
        if (url.startsWith("memory://")) {
            return new InMemoryBroker();
        }
        return provider(url).createBroker(url, config);
    }

    private static ResultBackend createBackend(CeleriacConfig config, Clock clock) {
        String url = config.resultBackend();
        if (url.startsWith("memory://")) {
            return new InMemoryResultBackend(config.resultExpires(), clock);
        }
        return provider(url).createResultBackend(url, config);
    }

    private static BrokerProvider provider(String url) {
        for (BrokerProvider p : ServiceLoader.load(BrokerProvider.class)) {
            if (p.supports(url)) {
                return p;
            }
        }
        String scheme = url.contains(":") ? url.substring(0, url.indexOf(':')) : url;
        throw new CeleriacException("No broker for '" + scheme + "://' URLs on the classpath: add celeriac-redis "
                + "for redis://, or use memory:// for the embedded broker");
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            return "localhost";
        }
    }

    public CeleriacConfig config() { return config; }
    public TaskRegistry registry() { return registry; }
    public MessageCodec codec() { return codec; }
    public Broker broker() { return broker; }
    public ResultBackend backend() { return backend; }
    public Clock clock() { return clock; }

    /** Registers the {@code @Task} methods of these objects or classes. */
    public Celeriac register(Object... beans) {
        for (Object bean : beans) {
            if (bean instanceof TaskDefinition d) {
                registry.register(d);
            } else {
                registry.register(bean);
            }
        }
        return this;
    }

    /** A task by name, to send. */
    public TaskStub task(String name) {
        return new TaskStub(name, this::applyAsync, this);
    }

    /**
     * The typed send forms with these options over those each task declares:
     * {@code app.with(SendOptions.builder().queue("bulk").build()).send(EmailTasks::sendWelcome, 42L)}.
     */
    public TaskCaller with(SendOptions options) {
        return typed.with(options);
    }

    /** Sends a typed call (see {@link TypedSender}); {@code applyAsync} underneath. */
    @Override
    public <R> TypedAsyncResult<R> send(TaskCall<R> call) {
        return typed.send(call);
    }

    @Override
    public Signature signature(TaskCall<?> call) {
        return typed.signature(call);
    }

    /** Sends a task with positional arguments. */
    public AsyncResult delay(String task, @Nullable Object... args) {
        return applyAsync(task, java.util.Arrays.asList(args), Map.of(), SendOptions.none());
    }

    public Signature signature(String task, @Nullable Object... args) {
        return new Signature(task, java.util.Arrays.asList(args), Map.of(), SendOptions.none(), this);
    }

    public Signature signature(String task, List<?> args, Map<String, ?> kwargs, SendOptions options) {
        return new Signature(task, args, kwargs, options, this);
    }

    /** Sends a signature, with its callbacks and errbacks if it has any. */
    @Override
    public AsyncResult send(Signature s) {
        if (s.links().isEmpty() && s.linkErrors().isEmpty() && s.otherOptions().isEmpty()) {
            return applyAsync(s.task(), s.args(), s.kwargs(), s.options());
        }
        return (AsyncResult) send((Canvas) s);
    }

    /** Sends a chain: its first step now, the others as each one finishes. Returns the last step's result. */
    @Override
    public AsyncResult send(Chain chain) {
        return (AsyncResult) send((Canvas) chain);
    }

    /** Sends a group's members in one batch. */
    @Override
    public GroupResult send(Group group) {
        return (GroupResult) send((Canvas) group);
    }

    /** Sends a chord: writes its size to the result backend, then sends the header. Returns the body's result. */
    @Override
    public AsyncResult send(Chord chord) {
        return (AsyncResult) send((Canvas) chord);
    }

    /** The result handle of any canvas: an AsyncResult (with parents) or a GroupResult. */
    private Object send(Canvas c) {
        return config.alwaysEager() ? eagerCanvas.run(c) : handle(sendCanvas(c));
    }

    private CanvasPlanner.Planned sendCanvas(Canvas c) {
        TaskRequest parent = CurrentTask.get().orElse(null);
        CanvasPlanner.Dispatch d = planner.plan(c, new CanvasPlanner.Context(List.of(),
                parent == null ? null : parent.id(),
                parent == null ? null : (parent.rootId() == null ? parent.id() : parent.rootId()), null));
        if (!d.chordSizes().isEmpty()) {
            ChordCounter chords = chordCounter("sending a chord");
            d.chordSizes().forEach(chords::setSize);
        }
        List<OutboundMessage> out = new ArrayList<>(d.messages().size());
        for (TaskMessage m : d.messages()) {
            out.add(new OutboundMessage(m.routingKey(), m.priority(), codec.encode(m), m.id(), m.eta()));
        }
        sends.dispatch(out, null, UNIQUE_KEY_TTL, () -> publishing(config.publishRetry()
                ? config.publishRetryPolicy() : null, () -> c + " (" + out.size() + " message(s))", () -> {
                    broker.publish(out);
                    return null;
                }));
        CurrentTask.addChild(CanvasPlanner.tuple(d.result()));
        return d.result();
    }

    /** Result handles shaped as what was sent: an AsyncResult with parents, or a GroupResult. */
    private Object handle(CanvasPlanner.Planned p) {
        if (p instanceof CanvasPlanner.One one) {
            return new AsyncResult(one.id(), backend, this::revoke, codec,
                    one.parent() == null ? null : handle(one.parent()));
        }
        CanvasPlanner.Many many = (CanvasPlanner.Many) p;
        List<AsyncResult> members = new ArrayList<>();
        for (CanvasPlanner.Planned m : many.members()) {
            Object h = handle(m);
            // A member that is itself a group is flattened into this one (Celery unrolls nested groups too).
            if (h instanceof GroupResult g) {
                members.addAll(g.results());
            } else {
                members.add((AsyncResult) h);
            }
        }
        return new GroupResult(many.groupId(), members);
    }

    /** The result backend's chord counting, or a clear error naming what needed it. */
    public ChordCounter chordCounter(String forWhat) {
        return backend.chords().orElseThrow(() -> new UnsupportedOperationException(forWhat + " needs a result "
                + "backend that counts chord parts (Redis, JDBC, in memory); " + backend.getClass().getSimpleName()
                + " does not"));
    }

    /** A task message for a canvas step: as {@code applyAsync} builds it, arguments converted to JSON values. */
    private TaskMessage buildCanvasMessage(String task, List<Object> args, Map<String, Object> kwargs,
                                           SendOptions options) {
        return buildMessage(task, jsonArgs(task, args), jsonKwargs(task, kwargs), options);
    }

    /**
     * Sends a task. Arguments must be JSON-able (primitives, strings, lists, maps, records/POJOs); anything else is
     * refused here with {@link TaskArgumentException}, before anything is sent.
     *
     * <p>If the broker is unavailable, the send is retried following {@code task_publish_retry_policy} (or the
     * send's own {@link SendOptions.Builder#retry retry} and {@link SendOptions.Builder#retryPolicy retryPolicy}),
     * blocking the caller meanwhile: by default 3 retries over 0.6 s. A {@link SendInterceptor} may publish it later
     * instead (after the caller's transaction commits, or through an outbox): the task id is the same either way.
     *
     * @throws BrokerUnavailableException if the broker did not confirm the message: at once with retry off, else
     *     once the policy's retries are used up. The message may still have reached the broker (a connection lost
     *     or a reply timed out after the command was written): docs/tasks.md says how a caller-chosen id and
     *     {@code unique} make a resend harmless.
     */
    public AsyncResult applyAsync(String task, List<?> args, Map<String, ?> kwargs, SendOptions options) {
        if (config.alwaysEager()) {
            return eager.apply(task, jsonArgs(task, args), jsonKwargs(task, kwargs), options);
        }
        Prepared p = prepare(task, args, kwargs, options);
        if (p.unique) {
            dispatchUnique(p);
        } else {
            OutboundMessage out = p.outbound;
            sends.dispatch(List.of(out), null, UNIQUE_KEY_TTL, () -> publishing(p.retry,
                    () -> p.message.task() + "[" + p.message.id() + "]", () -> {
                        broker.publish(List.of(out));
                        return null;
                    }));
        }
        CurrentTask.addChild(java.util.Arrays.asList(java.util.Arrays.asList(p.message.id(), null), null));
        return result(p.message.id());
    }

    /**
     * A unique task through the send interceptors. A broker that cannot publish once per key is refused here, at the
     * send, rather than later where an interceptor publishes it.
     */
    private void dispatchUnique(Prepared p) {
        onceDispatch("unique tasks");
        sends.dispatch(List.of(p.outbound), UNIQUE_KEY_PREFIX + p.message.id(), UNIQUE_KEY_TTL,
                () -> publishUnique(p));
    }

    /**
     * Runs {@code sends} with every send it makes published at once, past the app's {@link SendInterceptor}s: in a
     * transaction, for a send that must not wait for the commit, such as a task that reads nothing the transaction
     * writes. Applies to the calling thread only, and nests.
     *
     * <pre>{@code
     * AsyncResult r = app.sendNow(() -> app.task("audit.login_attempt").delay(userId));
     * }</pre>
     *
     * @return what {@code sends} returns
     */
    public <T extends @Nullable Object> T sendNow(Supplier<T> sends) {
        return this.sends.now(sends);
    }

    /**
     * A unique task is published only if no task with its id is pending or running: the key is taken and the
     * message published in one atomic step, and the worker deletes the key when the task is done. That also makes
     * retrying it safe: if an attempt reached Redis but its answer was lost, the next attempt finds the key taken
     * and publishes nothing.
     */
    private void publishUnique(Prepared p) {
        int[] attempts = {0};
        boolean published = publishing(p.retry, () -> p.message.task() + "[" + p.message.id() + "]", () -> {
            attempts[0]++;
            return onceDispatch("unique tasks").publishOnce(UNIQUE_KEY_PREFIX + p.message.id(), UNIQUE_KEY_TTL,
                    p.outbound);
        });
        if (!published) {
            log.info("Dropped a send of {}[{}]: a task with this id is already pending or running{}",
                    p.message.task(), p.message.id(), attempts[0] > 1
                            ? " (perhaps queued by an earlier attempt of this send whose answer was lost)" : "");
        }
    }

    /** Sends many signatures in one batch (one broker round trip where the broker allows). */
    public List<AsyncResult> sendAll(List<Signature> signatures) {
        if (config.alwaysEager()) {
            return signatures.stream().map(this::send).toList();
        }
        // One batch per retry policy: usually all signatures share the configured one, so still one round trip.
        Map<Optional<PublishRetryPolicy>, List<OutboundMessage>> batches = new LinkedHashMap<>();
        List<AsyncResult> results = new ArrayList<>(signatures.size());
        for (Signature s : signatures) {
            Prepared p = prepare(s.task(), s.args(), s.kwargs(), s.options());
            if (p.unique) {
                dispatchUnique(p);
            } else {
                batches.computeIfAbsent(Optional.ofNullable(p.retry), k -> new ArrayList<>()).add(p.outbound);
            }
            results.add(result(p.message.id()));
        }
        for (Map.Entry<Optional<PublishRetryPolicy>, List<OutboundMessage>> b : batches.entrySet()) {
            List<OutboundMessage> out = b.getValue();
            sends.dispatch(out, null, UNIQUE_KEY_TTL, () -> publishing(b.getKey().orElse(null),
                    () -> out.size() + " message(s)", () -> {
                        broker.publish(out);
                        return null;
                    }));
        }
        return results;
    }

    /** @param retry the complete policy to follow if the broker is unavailable, or null not to retry */
    private record Prepared(TaskMessage message, OutboundMessage outbound, boolean unique,
                            @Nullable PublishRetryPolicy retry) {
    }

    private Prepared prepare(String task, List<?> args, Map<String, ?> kwargs, SendOptions options) {
        TaskMessage m = buildMessage(task, jsonArgs(task, args), jsonKwargs(task, kwargs), options);
        return new Prepared(m, new OutboundMessage(m.routingKey(), m.priority(), codec.encode(m), m.id(), m.eta()),
                Boolean.TRUE.equals(m.extraHeaders().get(UNIQUE_HEADER)), retryPolicy(options));
    }

    /** The policy a send follows, Celery's way: its own retry/retry_policy over task_publish_retry(_policy). */
    private @Nullable PublishRetryPolicy retryPolicy(SendOptions o) {
        if (!o.retry().orElse(config.publishRetry())) {
            return null;
        }
        return o.retryPolicy().map(p -> p.orElse(config.publishRetryPolicy())).orElse(config.publishRetryPolicy());
    }

    /**
     * Runs a publish; if the broker is unavailable, retries it as kombu's {@code retry_over_time} does. Only
     * {@link BrokerUnavailableException} is retried: anything else is not a matter of waiting. The first attempt
     * costs nothing extra, so a healthy broker sees exactly the round trips it saw before.
     */
    private <T extends @Nullable Object> T publishing(@Nullable PublishRetryPolicy policy, Supplier<String> what,
                                                      Supplier<T> send) {
        // Results that come back as messages need their reply queue before the task goes out (rpc://).
        Supplier<T> publish = () -> {
            backend.beforeSend();
            return send.get();
        };
        try {
            return publish.get();
        } catch (BrokerUnavailableException first) {
            if (policy == null) {
                throw first;
            }
            return retryPublishing(policy, what.get(), publish, first);
        }
    }

    private <T extends @Nullable Object> T retryPublishing(PublishRetryPolicy policy, String what, Supplier<T> publish,
                                                           BrokerUnavailableException first) {
        int maxRetries = policy.maxRetries().getAsInt();
        Iterator<java.time.Duration> intervals = policy.intervals();
        long started = System.nanoTime();
        BrokerUnavailableException last = first;
        int retries = 0;
        while (maxRetries < 0 || retries < maxRetries) {
            java.time.Duration wait = intervals.next();
            retries++;
            log.debug("Publishing {} failed ({}); retry {} in {} ms", what, last.getMessage(), retries,
                    wait.toMillis());
            try {
                Thread.sleep(wait.toMillis(), wait.toNanosPart() % 1_000_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                BrokerUnavailableException ex = new BrokerUnavailableException("Interrupted while waiting to retry "
                        + "publishing " + what + " (after " + retries + " attempt(s)): " + last.getMessage(), e);
                ex.addSuppressed(last);
                throw ex;
            }
            try {
                return publish.get();
            } catch (BrokerUnavailableException e) {
                last = e;
            }
        }
        throw new BrokerUnavailableException(String.format(Locale.ROOT, "Gave up publishing %s after %d attempt%s "
                + "in %.1f s (task_publish_retry_policy %s): %s", what, retries + 1, retries == 0 ? "" : "s",
                (System.nanoTime() - started) / 1e9, policy, last.getMessage()), last);
    }

    /**
     * Builds the protocol v2 message a send would publish, without publishing it: queue, priority, ETA and expiry
     * resolved as Celery does, header providers applied. For code that stores or inspects messages before they go
     * out (an outbox, a test); {@link #applyAsync} is the way to send.
     */
    public TaskMessage buildMessage(String task, List<Object> args, Map<String, Object> kwargs, SendOptions o) {
        TaskDefinition def = registry.find(task).orElse(null);
        checkArity(def, args, kwargs);
        Instant now = clock.instant();
        String id = o.taskId().orElseGet(() -> UUID.randomUUID().toString());
        // Precedence as in Celery: apply_async options, then the task's own queue, then task_routes, then default.
        String queue = o.queue().or(() -> o.routingKey())
                .or(() -> def == null ? java.util.Optional.empty() : def.options().queue())
                .or(() -> config.routeFor(task))
                .orElse(config.defaultQueue());
        int priority = o.priority()
                .or(() -> def == null ? java.util.Optional.empty() : def.options().priority())
                .or(config::defaultPriority).orElse(0);
        Instant eta = o.eta().orElse(o.countdown().map(now::plus).orElse(null));
        Instant expires = o.expiresAt().orElse(o.expiresIn()
                .or(() -> def == null ? java.util.Optional.empty() : def.options().expires())
                .map(now::plus).orElse(null));
        boolean ignore = o.ignoreResult()
                .or(() -> def == null ? java.util.Optional.empty() : def.options().ignoreResult())
                .orElse(config.ignoreResult());
        TaskRequest parent = CurrentTask.get().orElse(null);
        Map<String, Object> extra = new HashMap<>();
        for (HeaderProvider hp : headerProviders) {
            extra.putAll(hp.headers(task));
        }
        extra.putAll(o.headers());
        if (o.unique().orElse(def != null && def.options().unique())) {
            extra.put(UNIQUE_HEADER, true);
        }
        return TaskMessage.builder(task, id)
                .lang("java")
                .shadow(o.shadow().orElse(null))
                .eta(eta)
                .expires(expires)
                .retries(0)
                .timeLimit(o.timeLimit().map(d -> d.toNanos() / 1e9).orElse(null))
                .softTimeLimit(o.softTimeLimit().map(d -> d.toNanos() / 1e9).orElse(null))
                .rootId(parent == null ? id : (parent.rootId() == null ? parent.id() : parent.rootId()))
                .parentId(parent == null ? null : parent.id())
                .argsRepr(PythonRepr.args(args))
                .kwargsRepr(PythonRepr.kwargs(kwargs))
                .origin(origin)
                .ignoreResult(ignore)
                .extraHeaders(extra)
                .args(args)
                .kwargs(kwargs)
                .replyTo(replyTo)
                .exchange("")
                .routingKey(queue)
                .priority(priority)
                .deliveryTag(UUID.randomUUID().toString())
                .build();
    }

    private static void checkArity(@Nullable TaskDefinition def, List<Object> args, Map<String, Object> kwargs) {
        if (def != null) {
            // The task's own binding rules: defaults, Optional and @Nullable parameters may be left out.
            def.checkArguments(args, kwargs);
        }
    }

    private List<Object> jsonArgs(String task, List<?> args) {
        List<Object> out = new ArrayList<>(args.size());
        for (int i = 0; i < args.size(); i++) {
            Object a = args.get(i);
            try {
                out.add(codec.toJsonValue(a));
            } catch (IllegalArgumentException e) {
                throw new TaskArgumentException("Argument " + (i + 1) + " of task '" + task + "' ("
                        + a.getClass().getName() + ") cannot travel as JSON: " + e.getMessage()
                        + ". Pass plain values or ids (load entities inside the task).", e);
            }
        }
        return out;
    }

    private Map<String, Object> jsonKwargs(String task, Map<String, ?> kwargs) {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        for (Map.Entry<String, ?> e : kwargs.entrySet()) {
            try {
                out.put(e.getKey(), codec.toJsonValue(e.getValue()));
            } catch (IllegalArgumentException ex) {
                throw new TaskArgumentException("Keyword argument '" + e.getKey() + "' of task '" + task + "' ("
                        + e.getValue().getClass().getName() + ") cannot travel as JSON: " + ex.getMessage()
                        + ". Pass plain values or ids (load entities inside the task).", ex);
            }
        }
        return out;
    }

    /** A handle on any task id's result. */
    public AsyncResult result(String taskId) {
        return new AsyncResult(taskId, backend, this::revoke, codec);
    }

    /**
     * The broker's once-only dispatch, or a clear error naming what needed it. Unique tasks use it; beat uses it when
     * present and its schedule store's dispatch ledger otherwise ({@link io.celeriac.beat.Beat}). Unique tasks have no
     * such fallback: a send is not tied to a store, and their keys are released by workers, which would all need the
     * same ledger.
     */
    public OnceDispatch onceDispatch(String forWhat) {
        return broker.onceDispatch().orElseThrow(() -> new UnsupportedOperationException(forWhat + " need a broker "
                + "that can publish once per key (Redis, in memory); " + broker.getClass().getSimpleName()
                + " cannot"));
    }

    /** The broker's remote control, or a clear error naming what needed it. */
    public ControlBus controlBus(String forWhat) {
        return broker.controlBus().orElseThrow(() -> new UnsupportedOperationException(forWhat + " needs a broker "
                + "that carries Celery's remote control; " + broker.getClass().getSimpleName() + " does not"));
    }

    /** Broadcasts a revoke to every worker (Celery's {@code app.control.revoke}). */
    public void revoke(String taskId, boolean terminate) {
        controlBus("revoking a task").broadcast(new ControlMessage("revoke",
                Map.of("task_id", List.of(taskId), "terminate", terminate, "signal", "SIGTERM"),
                List.of(), null, null));
    }

    /** Interceptors every worker of this app (and eager mode) wraps tasks in. */
    public List<io.celeriac.worker.TaskInterceptor> interceptors() {
        return interceptors;
    }

    /** A worker builder bound to this app. */
    public Worker.Builder worker() {
        return Worker.builder(workerEnvironment());
    }

    /** What a worker (or eager mode) of this app needs from it. */
    public WorkerEnvironment workerEnvironment() {
        return new WorkerEnvironment(config, broker, backend, codec, clock, registry, interceptors, Celeriac::pid,
                this::buildCanvasMessage);
    }

    /** The process id, for logs and events. */
    public static long pid() {
        return ProcessHandle.current().pid();
    }

    static String jvmName() {
        return ManagementFactory.getRuntimeMXBean().getName();
    }

    @Override
    public void close() {
        if (ownsBroker) {
            broker.close();
        }
        if (ownsBackend) {
            backend.close();
        }
    }

    public static final class Builder {
        private CeleriacConfig config = CeleriacConfig.defaults();
        private MessageCodec codec = new MessageCodec();
        private @Nullable TaskRegistry registry;
        private @Nullable Broker broker;
        private @Nullable ResultBackend backend;
        private Clock clock = Clock.systemUTC();
        private final List<Object> beans = new ArrayList<>();
        private final List<String> packages = new ArrayList<>();
        private final List<HeaderProvider> headerProviders = new ArrayList<>();
        private final List<io.celeriac.worker.TaskInterceptor> interceptors = new ArrayList<>();
        private final List<SendInterceptor> sendInterceptors = new ArrayList<>();

        private Builder() {
        }

        /** Adds headers to every message this app sends. */
        public Builder headerProvider(HeaderProvider v) { headerProviders.add(v); return this; }
        /** Wraps every task this app's workers run. */
        public Builder interceptor(io.celeriac.worker.TaskInterceptor v) { interceptors.add(v); return this; }
        /** Decides when this app's sends reach the broker (after a commit, through an outbox); in the order added. */
        public Builder sendInterceptor(SendInterceptor v) { sendInterceptors.add(v); return this; }

        public Builder config(CeleriacConfig v) { this.config = v; return this; }
        /** Uses this broker instead of the one {@code broker_url} names; the app will not close it. */
        public Builder broker(Broker v) { this.broker = v; return this; }
        /** Uses this backend instead of the one {@code result_backend} names; the app will not close it. */
        public Builder resultBackend(ResultBackend v) { this.backend = v; return this; }
        public Builder clock(Clock v) { this.clock = v; return this; }
        public Builder registry(TaskRegistry v) { this.registry = v; return this; }
        /** Objects or classes with {@code @Task} methods, or {@link TaskDefinition}s. */
        public Builder register(Object... v) { beans.addAll(List.of(v)); return this; }
        /** Packages to scan for {@code @Task} methods. */
        public Builder scan(String... v) { packages.addAll(List.of(v)); return this; }

        public Celeriac build() {
            if (registry == null) {
                registry = new TaskRegistry(codec);
            }
            if (!packages.isEmpty()) {
                registry.scan(packages.toArray(String[]::new));
            }
            for (Object bean : beans) {
                if (bean instanceof TaskDefinition d) {
                    registry.register(d);
                } else {
                    registry.register(bean);
                }
            }
            return new Celeriac(this);
        }
    }
}
