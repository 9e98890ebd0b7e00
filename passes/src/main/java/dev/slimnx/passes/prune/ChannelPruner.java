package dev.slimnx.passes.prune;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorSlices;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Removes channels: applies a keep-set to a {@link ChannelGroup}, everywhere at once.
 *
 * <ul>
 *   <li>Every constant member is sliced along its axis ({@link TensorSlices#take}) to the
 *       positions {@link ChannelMap#keptPositions} names: inside the group's span the kept
 *       channels in the order given, outside it everything as it was.</li>
 *   <li>Every activation member with a declared (or annotated) type has the dim of its channel
 *       axis shrunk, so {@code value_info} stays true.</li>
 *   <li>Constants that encode the width are rewritten as new initializers for that node only
 *       (the old one may be shared with nodes the group does not touch; it is removed when
 *       nothing reads it any more): a Reshape target's entry of the channel axis, a Split's sizes,
 *       a Slice's starts and ends on the channel axis (written as explicit inputs or, before
 *       opset 10 and 13, attributes), a depthwise Conv's {@code group}. Symbolic dims and the
 *       entries 0 and -1 of a Reshape target stay as they are, so the batch stays free.</li>
 * </ul>
 *
 * <p>All checks come before the first change: a group that is refused, stale (an axis no longer
 * has the length the analysis saw, because another group was pruned first) or from another model,
 * and a keep-set that is empty, repeats a channel or names one out of range, are rejected with the
 * model untouched. Keeping every channel in a new order is allowed: it permutes the channels and
 * must leave the outputs equal, which is how the tests check that a group is complete. After the
 * change, shape inference runs again and must agree with the new widths.
 */
public final class ChannelPruner {
    private ChannelPruner() {
    }

    /**
     * What one pruning did.
     *
     * @param widthBefore channels before
     * @param widthAfter channels after
     * @param parametersRemoved constant elements removed
     */
    public record Outcome(int widthBefore, int widthAfter, long parametersRemoved) {
    }

    /**
     * @param model the model the group was found in; changed in place
     * @param group a prunable group of that model
     * @param keep channels to keep, in their new order, each in [0, width) once
     * @return what was removed
     * @throws IllegalArgumentException for a refused group, a group of another model, a stale
     *     group or a bad keep-set; the model is unchanged
     * @throws IllegalStateException when shape inference disagrees with the pruned widths
     *     afterwards (a bug in a channel handler)
     */
    public static Outcome prune(Model model, ChannelGroup group, int[] keep) {
        Graph g = model.graph();
        if (!group.isPrunable()) {
            throw new IllegalArgumentException("the group of " + group.seed() + " cannot be pruned: " + group.refusal());
        }
        checkKeep(group.width(), keep);
        for (ChannelMember m : group.members()) {
            if (m.value().graph() != g) {
                throw new IllegalArgumentException("'" + m.value().name() + "' is not a value of this model's graph");
            }
            long now = currentLength(m);
            if (now >= 0 && now != m.axisLength()) {
                throw new IllegalArgumentException("the group is stale: axis " + m.axis() + " of '" + m.value().name()
                        + "' has length " + now + ", not " + m.axisLength() + "; find the group again");
            }
        }
        Plan plan = new Plan(model, group, keep);
        for (Node n : group.rewrittenNodes()) {
            plan.rewrite(n);
        }
        plan.apply();
        check(model, group, keep.length);
        return new Outcome(group.width(), keep.length, plan.removed);
    }

    private static void checkKeep(int width, int[] keep) {
        if (keep.length == 0) {
            throw new IllegalArgumentException("keep at least one channel");
        }
        boolean[] seen = new boolean[width];
        for (int c : keep) {
            if (c < 0 || c >= width) {
                throw new IllegalArgumentException("channel " + c + " is out of range [0, " + width + ")");
            }
            if (seen[c]) {
                throw new IllegalArgumentException("channel " + c + " is kept twice");
            }
            seen[c] = true;
        }
    }

    /** The length of a member's axis now, or -1 when its type does not say. */
    private static long currentLength(ChannelMember m) {
        Tensor t = m.constant();
        if (t != null) {
            return t.rank() > m.axis() ? t.dims()[m.axis()] : -1;
        }
        Shape s = m.value().shape();
        if (s == null || s.rank() <= m.axis() || !s.dim(m.axis()).isKnown()) {
            return -1;
        }
        return s.dim(m.axis()).value();
    }

    /** @return the new length of a member's axis */
    static int newLength(ChannelMember m, int width, int kept) {
        return m.axisLength() - m.map().removed(width, kept);
    }

    private static void check(Model model, ChannelGroup group, int kept) {
        InferenceResult shapes = ShapeInference.infer(model);
        for (ChannelMember m : group.activations()) {
            Shape s = shapes.shapeOf(m.value());
            if (s != null && s.rank() > m.axis() && s.dim(m.axis()).isKnown()
                    && s.dim(m.axis()).value() != newLength(m, group.width(), kept)) {
                throw new IllegalStateException("after pruning, shape inference gives '" + m.value().name() + "' " + s
                        + ", not length " + newLength(m, group.width(), kept) + " on axis " + m.axis());
            }
        }
    }

    /** Every change, computed before the first one is made. */
    private static final class Plan {
        private final Model model;
        private final Graph graph;
        private final ChannelGroup group;
        private final int[] keep;
        private final Map<Value, Tensor> slices = new IdentityHashMap<>();
        private final Map<Value, ValueType> types = new IdentityHashMap<>();
        private final List<Runnable> edits = new ArrayList<>();
        long removed;

        Plan(Model model, ChannelGroup group, int[] keep) {
            this.model = model;
            this.graph = model.graph();
            this.group = group;
            this.keep = keep;
            for (ChannelMember m : group.members()) {
                Tensor t = m.constant();
                if (t != null) {
                    int[] positions = m.map().keptPositions(m.axisLength(), group.width(), keep);
                    Tensor sliced = TensorSlices.take(t, m.axis(), positions);
                    slices.put(m.value(), sliced);
                    removed += t.numElements() - sliced.numElements();
                }
                ValueType shrunk = shrink(m.value().type(), m.axis(), ChannelPruner.newLength(m, group.width(), keep.length));
                if (shrunk != null) {
                    types.put(m.value(), shrunk);
                }
            }
        }

        private static ValueType shrink(ValueType type, int axis, int length) {
            if (!(type instanceof ValueType.TensorType t) || t.shape() == null || t.shape().rank() <= axis
                    || !t.shape().dim(axis).isKnown()) {
                return null;
            }
            List<Dim> dims = new ArrayList<>(t.shape().dims());
            dims.set(axis, Dim.of(length).withDenotation(dims.get(axis).denotation()));
            return t.withShape(Shape.of(dims).withExtra(t.shape().extra()));
        }

        private int newLength(Value v) {
            ChannelMember m = group.member(v);
            return ChannelPruner.newLength(m, group.width(), keep.length);
        }

        void rewrite(Node n) {
            switch (n.opType()) {
                case "Reshape" -> reshape(n);
                case "Split" -> split(n);
                case "Slice" -> slice(n);
                case "Conv" -> {
                    int channels = newLength(n.input(0));
                    edits.add(() -> n.setAttribute(Attribute.ofInt("group", channels)));
                }
                default -> throw new IllegalArgumentException("no rewrite for " + n.describe());
            }
        }

        private void reshape(Node n) {
            ChannelMember out = group.member(n.output(0));
            Tensor target = GraphEdits.constant(n.input(1));
            long[] entries = target.toLongArray();
            entries[out.axis()] = newLength(n.output(0));
            replaceInput(n, 1, Tensor.ofLongs("", target.dims(), entries), "shape");
        }

        private void split(Node n) {
            ChannelMember in = group.member(n.input(0));
            long[] sizes = sizes(n, in.axisLength());
            long[] out = new long[sizes.length];
            int start = 0;
            for (int j = 0; j < sizes.length; j++) {
                int end = start + (int) sizes[j];
                out[j] = in.map().newBoundary(end, group.width(), keep.length)
                        - in.map().newBoundary(start, group.width(), keep.length);
                start = end;
            }
            if (model.opsetVersion("") >= 13) {
                Tensor t = Tensor.ofLongs("", new long[] {out.length}, out);
                if (n.input(1) != null) {
                    replaceInput(n, 1, t, "split");
                } else {
                    edits.add(() -> {
                        while (n.inputs().size() < 2) {
                            n.addInput(null);
                        }
                        n.setInput(1, GraphEdits.addConstant(graph, n.name().isEmpty() ? "split" : n.name() + "_split", t));
                        n.removeAttribute("num_outputs");
                    });
                }
            } else {
                edits.add(() -> n.setAttribute(Attribute.ofInts("split", out)));
            }
        }

        private long[] sizes(Node n, int length) {
            long[] sizes = model.opsetVersion("") >= 13
                    ? (n.input(1) == null ? null : GraphEdits.constant(n.input(1)).toLongArray())
                    : n.intsAttr("split");
            if (sizes == null) {
                int parts = n.outputs().size();
                sizes = new long[parts];
                java.util.Arrays.fill(sizes, length / parts);
            }
            return sizes;
        }

        private void slice(Node n) {
            ChannelMember in = group.member(n.input(0));
            boolean inputs = model.opsetVersion("") >= 10;
            long[] starts = inputs ? GraphEdits.constant(n.input(1)).toLongArray() : n.intsAttr("starts");
            long[] ends = inputs ? GraphEdits.constant(n.input(2)).toLongArray() : n.intsAttr("ends");
            long[] axes = inputs ? (n.input(3) == null ? null : GraphEdits.constant(n.input(3)).toLongArray())
                    : n.intsAttr("axes");
            int rank = n.input(0).shape() != null ? n.input(0).shape().rank()
                    : ShapeInference.infer(model).shapeOf(n.input(0)).rank();
            int k = -1;
            for (int i = 0; i < starts.length; i++) {
                int a = axes == null ? i : (int) (axes[i] < 0 ? axes[i] + rank : axes[i]);
                if (a == in.axis()) {
                    k = i;
                }
            }
            long length = in.axisLength();
            long s = clamp(starts[k] < 0 ? starts[k] + length : starts[k], length);
            long e = clamp(ends[k] < 0 ? ends[k] + length : ends[k], length);
            starts[k] = in.map().newBoundary((int) s, group.width(), keep.length);
            ends[k] = in.map().newBoundary((int) e, group.width(), keep.length);
            if (inputs) {
                DataType type = GraphEdits.constant(n.input(1)).dataType();
                replaceInput(n, 1, Tensor.ofIntegers("", type, new long[] {starts.length}, starts), "starts");
                replaceInput(n, 2, Tensor.ofIntegers("", type, new long[] {ends.length}, ends), "ends");
            } else {
                edits.add(() -> {
                    n.setAttribute(Attribute.ofInts("starts", starts));
                    n.setAttribute(Attribute.ofInts("ends", ends));
                });
            }
        }

        private static long clamp(long v, long length) {
            return Math.max(0, Math.min(length, v));
        }

        /** Points input {@code index} of {@code n} at a new initializer, dropping the old constant when unused. */
        private void replaceInput(Node n, int index, Tensor data, String hint) {
            edits.add(() -> {
                Value old = n.input(index);
                Value fresh = GraphEdits.addConstant(graph, (n.name().isEmpty() ? hint : n.name() + "_" + hint), data);
                fresh.setType(ValueType.TensorType.of(data.dataType(), data.shape()));
                n.setInput(index, fresh);
                GraphEdits.removeIfUnused(old);
            });
        }

        void apply() {
            for (Map.Entry<Value, Tensor> e : slices.entrySet()) {
                Value v = e.getKey();
                if (v.isInitializer()) {
                    graph.setInitializerData(v, e.getValue());
                } else {
                    v.producer().setAttribute(Attribute.ofTensor("value", e.getValue().withName("")));
                }
            }
            for (Map.Entry<Value, ValueType> e : types.entrySet()) {
                e.getKey().setType(e.getValue());
            }
            for (Runnable r : edits) {
                r.run();
            }
        }
    }
}
