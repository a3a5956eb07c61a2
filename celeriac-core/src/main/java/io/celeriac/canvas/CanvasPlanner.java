package io.celeriac.canvas;

import io.celeriac.protocol.TaskMessage;
import io.celeriac.task.Canvas;
import io.celeriac.task.Chain;
import io.celeriac.task.Chord;
import io.celeriac.task.Group;
import io.celeriac.task.SendOptions;
import io.celeriac.task.Signature;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.jspecify.annotations.Nullable;

/**
 * Turns a canvas into the messages that start it, as Celery 5's canvas does, so that producers and workers of both
 * languages continue each other's workflows:
 * <ul>
 *   <li>ids are fixed first ("frozen"), so every later step's result can be waited for at once;</li>
 *   <li>a chain sends its first step; the rest travel in the message's {@code chain} field, reversed, next step last;
 *   a group followed by a step becomes a chord with that step as body;</li>
 *   <li>a group's members carry the group id in their {@code group} header;</li>
 *   <li>a chord's header members also carry their {@code group_index} and the body in {@code chord}; the header's
 *   size is written to the result backend first (Celery's {@code set_chord_size}).</li>
 * </ul>
 * A signature read from a message keeps Celery's options ({@code group_id}, {@code group_index}, {@code chord},
 * {@code chain}) and is sent on with them.
 *
 * <p>Planning has no side effects: it returns a {@link Dispatch} that the caller carries out (a producer at once, a
 * worker in its completer, in order with the task's result and ack).
 */
public final class CanvasPlanner {
    /** Builds a task message as the app's {@code applyAsync} would (routing, expiry, headers). */
    @FunctionalInterface
    public interface MessageFactory {
        TaskMessage build(String task, List<Object> args, Map<String, Object> kwargs, SendOptions options);
    }

    /** Who applies the canvas: partial arguments, the parent task and root, and a priority to pass on. */
    public record Context(List<Object> partialArgs, @Nullable String parentId, @Nullable String rootId,
                          @Nullable Integer priority) {
        public Context {
            partialArgs = partialArgs == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(partialArgs));
        }

        public static Context none() {
            return new Context(List.of(), null, null, null);
        }
    }

    /** The writes that start a canvas: chord sizes first, then the messages. */
    public record Dispatch(Map<String, Integer> chordSizes, List<TaskMessage> messages, Planned result) {
    }

    /** The ids of what was sent, shaped as the canvas: the caller's result handles. */
    public sealed interface Planned permits One, Many {
    }

    /** One task's id; {@code parent} the step before it, if any. */
    public record One(String id, @Nullable Planned parent) implements Planned {
    }

    /** A group's id and its members. */
    public record Many(String groupId, List<Planned> members, @Nullable Planned parent) implements Planned {
    }

    private final MessageFactory factory;

    public CanvasPlanner(MessageFactory factory) {
        this.factory = factory;
    }

    public Dispatch plan(Canvas canvas, Context ctx) {
        Canvas frozen = freeze(canvas, null);
        Map<String, Integer> sizes = new LinkedHashMap<>();
        List<TaskMessage> out = new ArrayList<>();
        Planned result = apply(frozen, new Ctx(ctx.partialArgs(), ctx.parentId(), ctx.rootId(), ctx.priority(),
                List.of(), null, null, null), sizes, out);
        return new Dispatch(sizes, out, result);
    }

    /**
     * Plans the replacement of a task (Celery's {@code Task.replace}): {@code replacement} frozen with the task's id,
     * continued by the task's remaining chain, and completing the task's chord if it was a part of one.
     */
    public Dispatch planReplacement(Canvas replacement, TaskMessage task, Context ctx) {
        Canvas frozen = freeze(replacement, task.id());
        Map<String, Integer> sizes = new LinkedHashMap<>();
        List<TaskMessage> out = new ArrayList<>();
        List<Object> chain = task.chain() == null ? List.of() : task.chain();
        Planned result = apply(frozen, new Ctx(ctx.partialArgs(), ctx.parentId(), ctx.rootId(), ctx.priority(),
                chain, task.chord() == null ? null : task.group(), task.groupIndex(), task.chord()), sizes, out);
        return new Dispatch(sizes, out, result);
    }

    /** Celery's result tuple of what was sent: {@code [[id, parent], null]} or {@code [[group id, parent], [...]]}. */
    public static List<Object> tuple(Planned p) {
        if (p instanceof One o) {
            return java.util.Arrays.asList(java.util.Arrays.asList(o.id(), o.parent() == null ? null
                    : tuple(o.parent())), null);
        }
        Many m = (Many) p;
        List<Object> members = new ArrayList<>();
        for (Planned x : m.members()) {
            members.add(tuple(x));
        }
        return java.util.Arrays.asList(java.util.Arrays.asList(m.groupId(), m.parent() == null ? null
                : tuple(m.parent())), members);
    }

    /** How many parts complete a chord with this header member (Celery's {@code chord._descend}). */
    public static int chordSize(Canvas c) {
        if (c instanceof Group g) {
            return g.members().stream().mapToInt(CanvasPlanner::chordSize).sum();
        }
        if (c instanceof Chain ch) {
            for (int i = ch.steps().size() - 1; i >= 0; i--) {
                int n = chordSize(ch.steps().get(i));
                if (n > 0) {
                    return n;
                }
            }
            return 0;
        }
        if (c instanceof Chord cd) {
            return chordSize(cd.body());
        }
        return 1;
    }

    // ------------------------------------------------------------------ freezing: every id fixed up front

    private static String newId() {
        return UUID.randomUUID().toString();
    }

    private static Canvas freeze(Canvas c, @Nullable String lastTaskId) {
        if (c instanceof Signature s) {
            String id = lastTaskId != null ? lastTaskId : s.options().taskId().orElseGet(CanvasPlanner::newId);
            return s.options().taskId().filter(id::equals).isPresent() ? s
                    : s.withOptions(s.options().toBuilder().taskId(id).build());
        }
        if (c instanceof Chain ch) {
            List<Canvas> steps = steps(ch);
            List<Canvas> frozen = new ArrayList<>(steps.size());
            for (int i = 0; i < steps.size(); i++) {
                frozen.add(freeze(steps.get(i), i == steps.size() - 1 ? lastTaskId : null));
            }
            return Canvas.chain(frozen).withOptions(ch.options());
        }
        if (c instanceof Group g) {
            String gid = g.options().taskId().orElseGet(CanvasPlanner::newId);
            List<Canvas> members = new ArrayList<>();
            for (Canvas m : unroll(g)) {
                members.add(freeze(m, null));
            }
            return Canvas.group(members).withOptions(g.options().toBuilder().taskId(gid).build());
        }
        Chord cd = (Chord) c;
        Group header = (Group) freeze(cd.header(), null);
        return Canvas.chord(header, freeze(cd.body(), lastTaskId)).withOptions(cd.options());
    }

    /** A chain's steps with nested chains spliced in and each group followed by a step made a chord, as Celery. */
    private static List<Canvas> steps(Chain ch) {
        List<Canvas> flat = new ArrayList<>();
        for (Canvas s : ch.steps()) {
            if (s instanceof Chain inner) {
                flat.addAll(steps(inner));
            } else {
                flat.add(s);
            }
        }
        List<Canvas> out = new ArrayList<>();
        for (int i = 0; i < flat.size(); i++) {
            Canvas s = flat.get(i);
            if (s instanceof Group g && i + 1 < flat.size()) {
                out.add(Canvas.chord(g, flat.get(i + 1)));
                i++;
            } else {
                out.add(s);
            }
        }
        return out;
    }

    /** A group's members with nested groups spliced in (Celery runs them all in parallel). */
    private static List<Canvas> unroll(Group g) {
        List<Canvas> out = new ArrayList<>();
        for (Canvas m : g.members()) {
            if (m instanceof Group inner) {
                out.addAll(unroll(inner));
            } else {
                out.add(m);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ applying a frozen canvas

    /**
     * @param chain the steps after this canvas, reversed (next last), to travel in the first message's chain field
     * @param groupId group of the last task this canvas runs (a chord header member, or a group member)
     * @param chord the chord body that task's completion counts towards
     */
    private record Ctx(List<Object> partial, @Nullable String parentId, @Nullable String rootId,
                       @Nullable Integer priority, List<Object> chain, @Nullable String groupId,
                       @Nullable Integer groupIndex, @Nullable Map<String, Object> chord) {
        Ctx withPartial(List<Object> p) {
            return new Ctx(p, parentId, rootId, priority, chain, groupId, groupIndex, chord);
        }

        Ctx withChain(List<Object> c) {
            return new Ctx(partial, parentId, rootId, priority, c, groupId, groupIndex, chord);
        }

        Ctx inGroup(String gid, @Nullable Integer index, @Nullable Map<String, Object> body) {
            return new Ctx(partial, parentId, rootId, priority, List.of(), gid, index, body);
        }

        Ctx outsideGroup() {
            return new Ctx(partial, parentId, rootId, priority, chain, null, null, null);
        }
    }

    private Planned apply(Canvas c, Ctx ctx, Map<String, Integer> sizes, List<TaskMessage> out) {
        if (c instanceof Signature s) {
            return applySignature(s, ctx, out);
        }
        if (c instanceof Chain ch) {
            return applyChain(ch, ctx, sizes, out);
        }
        if (c instanceof Group g) {
            String gid = g.options().taskId().orElseThrow();
            List<Planned> members = new ArrayList<>();
            for (Canvas m : g.members()) {
                // Celery gives a group's members the group id, but a group_index and a chord only in a chord header.
                members.add(apply(m, ctx.inGroup(gid, ctx.chord() == null ? null : ctx.groupIndex(), ctx.chord()),
                        sizes, out));
            }
            return new Many(gid, members, null);
        }
        return applyChord((Chord) c, ctx, sizes, out);
    }

    private Planned applySignature(Signature s, Ctx ctx, List<TaskMessage> out) {
        Map<String, Object> other = s.otherOptions();
        List<Object> args = new ArrayList<>();
        if (!s.immutable()) {
            args.addAll(ctx.partial());
        }
        args.addAll(s.args());
        List<Object> chain = ctx.chain().isEmpty() && other.get("chain") instanceof List<?> l
                ? new ArrayList<>(l) : ctx.chain();
        String group = ctx.groupId() != null ? ctx.groupId() : str(other.get("group_id"));
        Integer groupIndex = ctx.groupId() != null ? ctx.groupIndex()
                : other.get("group_index") instanceof Number n ? n.intValue() : null;
        @SuppressWarnings("unchecked")
        Map<String, Object> chord = ctx.chord() != null ? ctx.chord()
                : other.get("chord") instanceof Map<?, ?> m ? (Map<String, Object>) m : null;
        SendOptions options = s.options();
        if (ctx.priority() != null) {
            options = options.toBuilder().priority(ctx.priority()).build();
        }
        TaskMessage base = factory.build(s.task(), args, s.kwargs(), options);
        String root = ctx.rootId() != null ? ctx.rootId()
                : other.get("root_id") != null ? str(other.get("root_id")) : base.rootId();
        String parent = ctx.parentId() != null ? ctx.parentId()
                : other.get("parent_id") != null ? str(other.get("parent_id")) : base.parentId();
        TaskMessage m = base.toBuilder()
                .rootId(root)
                .parentId(parent)
                .group(group)
                .groupIndex(groupIndex)
                .callbacks(s.links().isEmpty() ? null : maps(s.links()))
                .errbacks(s.linkErrors().isEmpty() ? null : maps(s.linkErrors()))
                .chain(chain.isEmpty() ? null : chain)
                .chord(chord)
                .build();
        out.add(m);
        return new One(m.id(), null);
    }

    private Planned applyChain(Chain ch, Ctx ctx, Map<String, Integer> sizes, List<TaskMessage> out) {
        List<Canvas> steps = new ArrayList<>(ch.steps());
        int last = steps.size() - 1;
        if (last == 0) {
            return apply(steps.get(0), ctx, sizes, out);
        }
        // The last step completes whatever group or chord this chain belongs to: it carries that in its options.
        if (ctx.groupId() != null) {
            steps.set(last, withGroup(steps.get(last), ctx.groupId(), ctx.groupIndex(), ctx.chord()));
        }
        List<Object> rest = new ArrayList<>(ctx.chain());
        for (int i = last; i >= 1; i--) {
            rest.add(steps.get(i).toMap());
        }
        Planned first = apply(steps.get(0), ctx.outsideGroup().withChain(rest), sizes, out);
        Planned result = first;
        for (int i = 1; i <= last; i++) {
            result = withParent(idsOf(steps.get(i)), result);
        }
        return result;
    }

    private Planned applyChord(Chord cd, Ctx ctx, Map<String, Integer> sizes, List<TaskMessage> out) {
        String gid = cd.header().options().taskId().orElseThrow();
        Canvas body = cd.body();
        if (!ctx.chain().isEmpty()) {
            body = withChain(body, ctx.chain());
        }
        if (ctx.groupId() != null) {
            body = withGroup(body, ctx.groupId(), ctx.groupIndex(), ctx.chord());
        }
        List<Canvas> members = cd.header().members();
        if (members.isEmpty()) {
            // Celery: an empty header sends the body at once with an empty list.
            return apply(body, new Ctx(List.of(List.of()), ctx.parentId(), ctx.rootId(), ctx.priority(), List.of(),
                    null, null, null), sizes, out);
        }
        Map<String, Object> bodyMap = body.toMap();
        int size = members.stream().mapToInt(CanvasPlanner::chordSize).sum();
        sizes.put(gid, size);
        List<Planned> parts = new ArrayList<>();
        for (int i = 0; i < members.size(); i++) {
            parts.add(apply(members.get(i), ctx.inGroup(gid, i, bodyMap), sizes, out));
        }
        return withParent(idsOf(body), new Many(gid, parts, null));
    }

    /** The ids a frozen canvas will report, without sending anything. */
    private static Planned idsOf(Canvas c) {
        if (c instanceof Signature s) {
            return new One(s.options().taskId().orElseThrow(), null);
        }
        if (c instanceof Chain ch) {
            Planned p = null;
            for (Canvas s : ch.steps()) {
                p = withParent(idsOf(s), p);
            }
            return p;
        }
        if (c instanceof Group g) {
            return new Many(g.options().taskId().orElseThrow(), g.members().stream().map(CanvasPlanner::idsOf)
                    .toList(), null);
        }
        Chord cd = (Chord) c;
        return withParent(idsOf(cd.body()), idsOf(cd.header()));
    }

    /** {@code p} with {@code parent} as the parent of its first step. */
    private static Planned withParent(Planned p, @Nullable Planned parent) {
        if (parent == null) {
            return p;
        }
        if (p instanceof One o) {
            return new One(o.id(), o.parent() == null ? parent : withParent(o.parent(), parent));
        }
        Many m = (Many) p;
        return new Many(m.groupId(), m.members(), m.parent() == null ? parent : withParent(m.parent(), parent));
    }

    /** The canvas whose last task carries the given group, index and chord body in its options. */
    private static Canvas withGroup(Canvas c, String gid, @Nullable Integer index,
                                    @Nullable Map<String, Object> chord) {
        if (c instanceof Signature s) {
            Map<String, Object> other = new LinkedHashMap<>(s.otherOptions());
            other.put("group_id", gid);
            if (index != null) {
                other.put("group_index", index);
            }
            if (chord != null) {
                other.put("chord", chord);
            }
            return s.withOtherOptions(other);
        }
        if (c instanceof Chain ch) {
            List<Canvas> steps = new ArrayList<>(ch.steps());
            steps.set(steps.size() - 1, withGroup(steps.get(steps.size() - 1), gid, index, chord));
            return Canvas.chain(steps).withOptions(ch.options());
        }
        if (c instanceof Chord cd) {
            return Canvas.chord(cd.header(), withGroup(cd.body(), gid, index, chord)).withOptions(cd.options());
        }
        // A group as the last step of a chord member: Celery cannot count it either; its members join nothing.
        return c;
    }

    /** The canvas whose last task continues with {@code chain} (reversed steps). */
    private static Canvas withChain(Canvas c, List<Object> chain) {
        if (c instanceof Signature s) {
            Map<String, Object> other = new LinkedHashMap<>(s.otherOptions());
            List<Object> merged = new ArrayList<>(chain);
            if (other.get("chain") instanceof List<?> l) {
                merged.addAll(l);
            }
            other.put("chain", merged);
            return s.withOtherOptions(other);
        }
        if (c instanceof Chain ch) {
            List<Canvas> steps = new ArrayList<>(ch.steps());
            steps.set(steps.size() - 1, withChain(steps.get(steps.size() - 1), chain));
            return Canvas.chain(steps).withOptions(ch.options());
        }
        if (c instanceof Chord cd) {
            return Canvas.chord(cd.header(), withChain(cd.body(), chain)).withOptions(cd.options());
        }
        List<Canvas> steps = new ArrayList<>();
        steps.add(c);
        for (int i = chain.size() - 1; i >= 0; i--) {
            steps.add(fromObject(chain.get(i)));
        }
        return freeze(Canvas.chain(steps), null);
    }

    @SuppressWarnings("unchecked")
    private static Canvas fromObject(Object o) {
        if (!(o instanceof Map<?, ?> m)) {
            throw new IllegalArgumentException("a chain step is not a signature: " + o);
        }
        return Canvas.fromMap((Map<String, Object>) m);
    }

    private static List<Object> maps(List<Canvas> cs) {
        List<Object> out = new ArrayList<>(cs.size());
        for (Canvas c : cs) {
            out.add(c.toMap());
        }
        return out;
    }

    private static @Nullable String str(@Nullable Object o) {
        return o == null ? null : o.toString();
    }
}
