package dev.slimnx.passes.prune;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * Finds the FFN hidden layers of a model by their channel groups, not by names.
 *
 * <p>Every linear node with a constant weight (MatMul with a rank-2 weight as its second input,
 * Gemm, a 1×1 Conv with {@code group = 1}) seeds the group of its output channels. The group is an
 * FFN hidden layer when:
 * <ul>
 *   <li>every linear node it reaches either produces the channels from its weight's output axis
 *       (the expanding layers) or contracts them on its weight's input axis (the reducing layers),
 *       and they are MatMul/Gemm or 1×1 Convs with {@code group = 1} (a depthwise Conv in between
 *       makes an inverted-residual CNN block, not an FFN);</li>
 *   <li>each reducing layer's output, through at most a few single-reader steps of a constant
 *       bias Add, a constant scale Mul (layer scale) or a BatchNormalization, is added to the
 *       residual: the input of an expanding layer, or the input of the normalization (LayerNorm,
 *       BatchNorm) that produced it.</li>
 * </ul>
 * So the box head of DETR (an MLP feeding a Sigmoid) is not an FFN, nor is an attention
 * projection. A seed whose group is refused is reported as a refused FFN when it matches the same
 * pattern syntactically (linear, element-wise ops, linear, residual Add), so a model whose FFNs
 * cannot be pruned says why rather than seeming to have none. Groups are found on the model as it
 * is: run the lossless pipeline first, so that weights PyTorch exported twice are one initializer
 * and Constant nodes are folded.
 */
public final class FfnFinder {
    private static final int LOOK_THROUGH = 4;
    private static final int SYNTACTIC_REACH = 16;

    private FfnFinder() {
    }

    /** A linear node's weight: the value and its output and input channel axes. */
    record Weight(Value value, int outAxis, int inAxis) {
    }

    /**
     * @param model the model
     * @return its FFN hidden layers in graph order, prunable or refused
     */
    public static List<FfnLayer> find(Model model) {
        return find(new ChannelDependencies(model));
    }

    /**
     * @param deps an analysis of the model
     * @return its FFN hidden layers in graph order, prunable or refused
     */
    public static List<FfnLayer> find(ChannelDependencies deps) {
        Graph g = deps.model().graph();
        Set<Value> claimed = Collections.newSetFromMap(new IdentityHashMap<>());
        List<FfnLayer> out = new ArrayList<>();
        for (Node n : g.nodes()) {
            Weight w = weight(n);
            if (w == null || claimed.contains(w.value())) {
                continue;
            }
            ChannelGroup group = deps.groupOf(w.value(), w.outAxis());
            if (!group.isPrunable()) {
                if (looksLikeFfn(n, deps)) {
                    claimed.add(w.value());
                    int d = (int) GraphEdits.constant(w.value()).dims()[w.inAxis()];
                    out.add(new FfnLayer(name(n), group, d, group.width(), List.of(n), List.of()));
                }
                continue;
            }
            FfnLayer layer = classify(n, group);
            if (layer != null) {
                for (ChannelMember m : group.constants()) {
                    claimed.add(m.value());
                }
                out.add(layer);
            }
        }
        return out;
    }

    private static String name(Node n) {
        return n.name().isEmpty() ? n.opType() + " reading '" + n.input(0).name() + "'" : n.name();
    }

    /** @return the weight of a linear node with a constant weight, or null */
    static Weight weight(Node n) {
        if (n.inputs().size() < 2 || n.input(1) == null) {
            return null;
        }
        Value v = n.input(1);
        Tensor t = GraphEdits.constant(v);
        if (t == null || !t.dataType().isFloatingPoint()) {
            return null;
        }
        if (n.is("MatMul") && t.rank() == 2) {
            return new Weight(v, 1, 0);
        }
        if (n.is("Gemm") && t.rank() == 2) {
            boolean transB = n.intAttr("transB", 0) != 0;
            return new Weight(v, transB ? 0 : 1, transB ? 1 : 0);
        }
        if (n.is("Conv") && n.intAttr("group", 1) == 1 && t.rank() >= 3) {
            for (int i = 2; i < t.rank(); i++) {
                if (t.dims()[i] != 1) {
                    return null;
                }
            }
            return new Weight(v, 0, 1);
        }
        return null;
    }

    private static boolean isLinear(Node n) {
        return n.is("MatMul") || n.is("Gemm") || n.is("Conv") || n.is("ConvTranspose");
    }

    private static FfnLayer classify(Node seedNode, ChannelGroup group) {
        List<Node> expand = new ArrayList<>();
        List<Node> reduce = new ArrayList<>();
        int d = -1;
        for (Node n : group.nodes()) {
            if (!isLinear(n)) {
                continue;
            }
            Weight w = weight(n);
            ChannelMember wm = w == null ? null : group.member(w.value());
            if (wm == null) {
                return null; // a depthwise Conv, an attention MatMul, a weight-less product: not an FFN
            }
            int in = (int) GraphEdits.constant(w.value()).dims()[w.inAxis()];
            if (wm.axis() == w.outAxis() && wm.map().isIdentity() && group.member(n.input(0)) == null) {
                expand.add(n);
                if (d >= 0 && d != in) {
                    return null;
                }
                d = in;
            } else if (wm.axis() == w.inAxis() && group.member(n.input(0)) != null) {
                reduce.add(n);
            } else {
                return null;
            }
        }
        if (expand.isEmpty() || reduce.isEmpty() || !expand.contains(seedNode)) {
            return null;
        }
        Set<Value> residuals = Collections.newSetFromMap(new IdentityHashMap<>());
        for (Node e : expand) {
            residuals.add(e.input(0));
            Node p = e.input(0).producer();
            if (p != null && (p.is("LayerNormalization") || p.is("BatchNormalization") || p.is("RMSNormalization")
                    || p.is("InstanceNormalization"))) {
                residuals.add(p.input(0));
            }
        }
        for (Node r : reduce) {
            if (!addedToResidual(r.output(0), residuals)) {
                return null;
            }
        }
        return new FfnLayer(name(seedNode), group, d, group.width(), expand, reduce);
    }

    private static boolean addedToResidual(Value out, Set<Value> residuals) {
        Value v = out;
        for (int step = 0; step <= LOOK_THROUGH; step++) {
            for (Use u : v.uses()) {
                Node n = u.node();
                if (n.is("Add") && n.inputs().size() == 2 && residuals.contains(n.input(1 - u.inputIndex()))) {
                    return true;
                }
            }
            if (v.uses().size() != 1 || v.isGraphOutput()) {
                return false;
            }
            Node next = v.uses().get(0).node();
            boolean constantOther = next.inputs().size() == 2
                    && GraphEdits.constant(next.input(1 - v.uses().get(0).inputIndex())) != null;
            if (!((next.is("Add") || next.is("Mul")) && constantOther
                    || next.is("BatchNormalization") && v.uses().get(0).inputIndex() == 0)) {
                return false;
            }
            v = next.output(0);
        }
        return false;
    }

    /**
     * The FFN pattern without channel rules, for seeds whose group was refused: from the node's
     * output, through single-output nodes that keep the shape of what they read (activations, bias
     * Adds, an op the analysis does not know), to a linear node with a constant weight whose output
     * reaches the residual. A Split, a Reshape into heads, a product of two activations end the
     * walk, so attention blocks do not look like FFNs.
     */
    private static boolean looksLikeFfn(Node seed, ChannelDependencies deps) {
        Set<Value> residuals = Collections.newSetFromMap(new IdentityHashMap<>());
        residuals.add(seed.input(0));
        Node p = seed.input(0).producer();
        if (p != null && (p.is("LayerNormalization") || p.is("BatchNormalization"))) {
            residuals.add(p.input(0));
        }
        Deque<Value> work = new ArrayDeque<>();
        Set<Node> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        work.add(seed.output(0));
        while (!work.isEmpty() && seen.size() < SYNTACTIC_REACH) {
            Value v = work.poll();
            for (Use u : v.uses()) {
                Node n = u.node();
                if (!seen.add(n)) {
                    continue;
                }
                if (isLinear(n)) {
                    if (u.inputIndex() == 0 && weight(n) != null && addedToResidual(n.output(0), residuals)) {
                        return true;
                    }
                    continue;
                }
                Shape in = deps.shapes().shapeOf(v);
                Shape out = n.outputs().size() == 1 ? deps.shapes().shapeOf(n.output(0)) : null;
                if (n.outputs().size() == 1 && (in == null || out == null || in.equals(out))) {
                    work.add(n.output(0));
                }
            }
        }
        return false;
    }
}
