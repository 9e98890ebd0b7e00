package dev.slimnx.passes.prune;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorSlices;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Splits fused Q/K/V projections into one projection per part, without changing what the model
 * computes, so that the channel analysis can shrink Q and K without V.
 *
 * <p>A fused projection puts Q, K and V side by side on one axis of one weight; a channel group
 * holds one span per tensor axis ({@link ChannelMap}), so the Q·Kᵀ pair, which covers the Q span
 * and the K span of that weight, would be refused. Two exporter idioms are split:
 * <ul>
 *   <li>PyTorch's {@code qkv(x).reshape(b, n, 3, H, d).permute(2, 0, 3, 1, 4)[i]}: a MatMul with a
 *       constant {@code [D, P·H·d]} weight, an optional constant bias Add, a Reshape whose last
 *       three target entries are {@code [P, H, d]}, a Transpose that moves the {@code P} axis
 *       first, and only Gathers of a constant scalar index on axis 0. Part {@code i} becomes
 *       MatMul with the weight's columns {@code [i·H·d, (i+1)·H·d)}, the bias slice, a Reshape to
 *       the target without the {@code P} entry and the Transpose without the {@code P} axis: the
 *       same elements as the Gather gave.</li>
 *   <li>A Conv ({@code group = 1}) whose output only feeds a Split on the channel axis with
 *       constant sizes (EfficientViT's per-head {@code qkv} ConvBN): one Conv per output, with the
 *       weight rows and bias entries of that output.</li>
 * </ul>
 * A weight shared by several fused projections (MemViT's memory path) is sliced once per part, so
 * the parts stay shared. NOTE: the split projections cost one MatMul per part instead of one; the
 * pruning that follows is what pays for it.
 */
final class FusedProjections {
    private FusedProjections() {
    }

    /**
     * @param model the model, changed in place
     * @return the fused projections split
     */
    static int split(Model model) {
        Graph g = model.graph();
        Map<Value, Map<String, Value>> slices = new IdentityHashMap<>();
        int count = 0;
        for (Node n : List.copyOf(g.nodes())) {
            if (n.graph() != g) {
                continue;
            }
            if (n.is("MatMul") && trySplitReshapedMatMul(g, n, slices) || n.is("Conv") && trySplitConv(g, n, slices)) {
                count++;
            }
        }
        return count;
    }

    /** The constant slice {@code [from, to)} of {@code v} along {@code axis}, made once per weight and range. */
    private static Value slice(Graph g, Value v, int axis, int from, int to, Map<Value, Map<String, Value>> slices) {
        return slices.computeIfAbsent(v, k -> new HashMap<>()).computeIfAbsent(axis + ":" + from + ":" + to, k -> {
            int[] positions = new int[to - from];
            for (int i = 0; i < positions.length; i++) {
                positions[i] = from + i;
            }
            return GraphEdits.addConstant(g, v.name() + "_" + from + "_" + to,
                    TensorSlices.take(GraphEdits.constant(v), axis, positions));
        });
    }

    private static Value soleReader(Value v) {
        return v.uses().size() == 1 && !v.isGraphOutput() ? v : null;
    }

    private static boolean trySplitReshapedMatMul(Graph g, Node mm, Map<Value, Map<String, Value>> slices) {
        Tensor w = GraphEdits.constant(mm.input(1));
        if (w == null || w.rank() != 2 || mm.input(0) == null || soleReader(mm.output(0)) == null) {
            return false;
        }
        Node next = mm.output(0).uses().get(0).node();
        Node add = null;
        Value bias = null;
        if (next.is("Add") && next.inputs().size() == 2) {
            int other = 1 - mm.output(0).uses().get(0).inputIndex();
            Tensor b = GraphEdits.constant(next.input(other));
            if (b == null || b.rank() != 1 || b.dims()[0] != w.dims()[1] || soleReader(next.output(0)) == null) {
                return false;
            }
            add = next;
            bias = next.input(other);
            next = next.output(0).uses().get(0).node();
        }
        if (!next.is("Reshape") || next.input(0) != (add == null ? mm.output(0) : add.output(0))
                || soleReader(next.output(0)) == null) {
            return false;
        }
        Node reshape = next;
        Tensor target = GraphEdits.constant(reshape.input(1));
        if (target == null || target.rank() != 1 || target.dims()[0] < 4) {
            return false;
        }
        long[] entries = target.toLongArray();
        int r = entries.length;
        long parts = entries[r - 3];
        long heads = entries[r - 2];
        long headDim = entries[r - 1];
        if (parts < 2 || heads < 1 || headDim < 1 || parts * heads * headDim != w.dims()[1]) {
            return false;
        }
        Node transpose = reshape.output(0).uses().get(0).node();
        long[] perm = transpose.intsAttr("perm");
        if (!transpose.is("Transpose") || perm == null || perm.length != r || perm[0] != r - 3) {
            return false;
        }
        List<Node> gathers = new ArrayList<>();
        for (Use u : transpose.output(0).uses()) {
            Node gather = u.node();
            Tensor index = gather.is("Gather") ? GraphEdits.constant(gather.input(1)) : null;
            if (index == null || index.rank() != 0 || gather.intAttr("axis", 0) != 0 || u.inputIndex() != 0) {
                return false;
            }
            long i = index.toLongArray()[0];
            if (i < 0 || i >= parts) {
                return false;
            }
            gathers.add(gather);
        }
        if (gathers.isEmpty() || transpose.output(0).isGraphOutput()) {
            return false;
        }
        long[] partTarget = new long[r - 1];
        for (int i = 0, j = 0; i < r; i++) {
            if (i != r - 3) {
                partTarget[j++] = entries[i];
            }
        }
        long[] partPerm = new long[r - 1];
        for (int i = 1; i < r; i++) {
            partPerm[i - 1] = perm[i] > r - 3 ? perm[i] - 1 : perm[i];
        }
        String base = mm.name().isEmpty() ? "qkv" : mm.name();
        int span = (int) (heads * headDim);
        Value partShape = GraphEdits.addConstant(g, base + "_part_shape",
                Tensor.ofLongs("", new long[] {partTarget.length}, partTarget));
        for (Node gather : gathers) {
            int i = (int) GraphEdits.constant(gather.input(1)).toLongArray()[0];
            Value wi = slice(g, mm.input(1), 1, i * span, (i + 1) * span, slices);
            Value y = new Value(g.names().fresh(base + "_" + i));
            Node mmi = new Node("", "MatMul", List.of(mm.input(0), wi), List.of(y), List.of());
            mmi.setName(g.names().fresh(base + "_" + i));
            g.insertBefore(mm, mmi);
            if (add != null) {
                Value bi = slice(g, bias, 0, i * span, (i + 1) * span, slices);
                Value z = new Value(g.names().fresh(base + "_" + i + "_bias"));
                boolean biasFirst = add.input(0) == bias;
                Node addi = new Node("", "Add", biasFirst ? List.of(bi, y) : List.of(y, bi), List.of(z), List.of());
                addi.setName(g.names().fresh(add.name().isEmpty() ? base + "_add" : add.name() + "_" + i));
                g.insertBefore(mm, addi);
                y = z;
            }
            Value shaped = new Value(g.names().fresh(base + "_" + i + "_heads"));
            Node reshapei = new Node("", "Reshape", List.of(y, partShape), List.of(shaped),
                    List.of(Attribute.ofInt("allowzero", reshape.intAttr("allowzero", 0))));
            reshapei.setName(g.names().fresh(reshape.name().isEmpty() ? base + "_reshape" : reshape.name() + "_" + i));
            g.insertBefore(mm, reshapei);
            Value t = new Value(g.names().fresh(base + "_" + i + "_t"));
            Node transposei = new Node("", "Transpose", List.of(shaped), List.of(t),
                    List.of(Attribute.ofInts("perm", partPerm)));
            transposei.setName(g.names().fresh(transpose.name().isEmpty() ? base + "_transpose"
                    : transpose.name() + "_" + i));
            g.insertBefore(mm, transposei);
            t.setType(gather.output(0).type());
            if (!GraphEdits.replace(gather.output(0), t)) {
                throw new IllegalStateException("cannot replace " + gather.describe());
            }
        }
        for (Node gather : gathers) {
            GraphEdits.removeNodeAndUnusedConstants(gather);
        }
        GraphEdits.removeNodeAndUnusedConstants(transpose);
        GraphEdits.removeNodeAndUnusedConstants(reshape);
        if (add != null) {
            GraphEdits.removeNodeAndUnusedConstants(add);
        }
        GraphEdits.removeNodeAndUnusedConstants(mm);
        return true;
    }

    private static boolean trySplitConv(Graph g, Node conv, Map<Value, Map<String, Value>> slices) {
        Tensor w = GraphEdits.constant(conv.input(1));
        Value b = conv.inputs().size() > 2 ? conv.input(2) : null;
        if (w == null || conv.intAttr("group", 1) != 1 || b != null && GraphEdits.constant(b) == null
                || soleReader(conv.output(0)) == null) {
            return false;
        }
        Use u = conv.output(0).uses().get(0);
        Node split = u.node();
        if (!split.is("Split") || u.inputIndex() != 0 || split.intAttr("axis", 0) != 1 || split.outputs().size() < 2) {
            return false;
        }
        long[] sizes = split.inputs().size() > 1 && split.input(1) != null
                ? (GraphEdits.constant(split.input(1)) == null ? null : GraphEdits.constant(split.input(1)).toLongArray())
                : split.intsAttr("split");
        if (sizes == null || sizes.length != split.outputs().size()) {
            return false;
        }
        long total = 0;
        for (long s : sizes) {
            total += s;
        }
        if (total != w.dims()[0]) {
            return false;
        }
        for (Value out : split.outputs()) {
            if (out.isGraphOutput()) {
                return false;
            }
        }
        String base = conv.name().isEmpty() ? "conv" : conv.name();
        int from = 0;
        for (int j = 0; j < sizes.length; j++) {
            int to = from + (int) sizes[j];
            Value out = split.output(j);
            if (!out.name().isEmpty() && !out.uses().isEmpty()) {
                List<Value> inputs = new ArrayList<>();
                inputs.add(conv.input(0));
                inputs.add(slice(g, conv.input(1), 0, from, to, slices));
                if (b != null) {
                    inputs.add(slice(g, b, 0, from, to, slices));
                }
                Value y = new Value(g.names().fresh(base + "_" + j));
                Node cj = new Node("", "Conv", inputs, List.of(y), conv.attributes());
                cj.setName(g.names().fresh(base + "_" + j));
                g.insertBefore(conv, cj);
                y.setType(out.type());
                if (!GraphEdits.replace(out, y)) {
                    throw new IllegalStateException("cannot replace output " + j + " of " + split.describe());
                }
            }
            from = to;
        }
        GraphEdits.removeNodeAndUnusedConstants(split);
        GraphEdits.removeNodeAndUnusedConstants(conv);
        return true;
    }
}
