package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Removes nodes that return their input unchanged, and folds pairs of data-movement nodes into
 * one. Lossless: every rewrite keeps every output bit for bit.
 *
 * <p>When a rule fires, every reader of the node's output reads the node's input instead
 * ({@link GraphEdits#replace}; a graph output keeps its name by renaming the input), then the node
 * and any constant only it read are removed. Counted by kind:
 * <ul>
 *   <li>{@code Identity}: always (given the graph-output rule below).</li>
 *   <li>{@code Dropout}: in inference, y = x whatever the ratio: no {@code training_mode} input or
 *       a constant false one (opset 12+), always at opsets 7-11, {@code is_test = 1} before 7; and
 *       the mask output is absent or unread.</li>
 *   <li>{@code Cast}: {@code to} is the input's element type (declared or inferred).</li>
 *   <li>{@code Reshape}, {@code Flatten}, {@code Squeeze}, {@code Unsqueeze}, {@code Expand}: the
 *       output shape is proven equal to the input's (see {@link NoOpProofs}: a Reshape to
 *       {@code [0, 16, -1]} of a {@code [batch, 16, 64]} input is; a Squeeze without axes of a
 *       {@code [batch, 3]} input is not, as batch may be 1), and the op only moves elements in row
 *       order, so equal shapes mean equal tensors.</li>
 *   <li>{@code Slice}: every sliced axis is taken whole and in order (from 0 to at least its size
 *       with step 1; an axis of size 0 or 1 with any step).</li>
 *   <li>{@code Concat}: a single input.</li>
 *   <li>{@code Pad}: every pad is 0 (any mode).</li>
 *   <li>{@code Transpose}: {@code perm} is the identity.</li>
 * </ul>
 * Two-node rules, when the first node's output is read only by the second and is no graph output:
 * <ul>
 *   <li>{@code Transpose pair}: {@code Transpose(Transpose(x, p1), p2)} is x when
 *       {@code p1[p2[i]] = i} for all i (output dim i of the pair is input dim {@code p1[p2[i]]});
 *       both nodes go.</li>
 *   <li>{@code Transpose+Transpose}: otherwise the pair becomes one {@code Transpose(x, q)} with
 *       {@code q[i] = p1[p2[i]]}.</li>
 *   <li>{@code Reshape+Reshape}: {@code Reshape(Reshape(x, a), b)} becomes {@code Reshape(x, b)}:
 *       a reshape depends only on the element count and order, which the first one keeps. Only when
 *       every 0 of b (which copies a dim of the intermediate, not of x) is under
 *       {@code allowzero = 1} or at a dim proven equal in x and the intermediate.</li>
 * </ul>
 *
 * <p>Skipped (left unchanged): arguments that are not constants (targets, axes, pads, starts/ends,
 * training_mode), shapes or ranks inference cannot give, nodes outside the default domain, Reshape
 * before opset 5, and a node whose output is a graph output while its input is a graph input, an
 * initializer, another graph output, or a value of an enclosing graph (the output name must
 * survive and cannot be moved onto such a value; ONNX Runtime also rejects a subgraph that returns
 * an outer value directly).
 *
 * <p>Subgraphs are rewritten by the same rules (those that need shapes only where inference
 * reaches: If and Loop bodies). Nodes a rewrite leaves unread, other than constants, stay for
 * dead-code elimination: the Shape chain that computed the target of a Reshape folded into the
 * next one, say.
 *
 * <p>One run reaches a fixed point: it sweeps until a sweep changes nothing, so a second run
 * reports no change.
 */
public final class EliminatePass implements Pass {
    /** The id recipes and the CLI use. */
    public static final String ID = "eliminate";

    /** How the CLI and recipes find this pass; it takes no options. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "remove nodes that change nothing (Identity, inference Dropout, same-type Cast, no-op reshapes,"
                    + " whole slices, zero pads, cancelling transposes) and fold transpose and reshape pairs",
            true, List.of(), options -> new EliminatePass());

    private static final System.Logger LOG = System.getLogger(EliminatePass.class.getName());

    /** The pass; it has no options. */
    public EliminatePass() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        // NOTE: every rewrite keeps the shape and type of each value that stays, and none creates a
        // value, so one inference serves all sweeps.
        Sweep sweep = new Sweep(ShapeInference.infer(model), model.opsetVersion(""), new RewriteCounter(ID));
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Graph g : graphs(model.graph(), new ArrayList<>())) {
                for (Node n : List.copyOf(g.nodes())) {
                    changed |= n.graph() == g && n.isOnnxDomain() && sweep.tryEliminate(n);
                }
            }
        }
        return sweep.counter.result();
    }

    /** @return {@code g} and every graph nested in it */
    private static List<Graph> graphs(Graph g, List<Graph> out) {
        out.add(g);
        for (Node n : g.nodes()) {
            for (Graph sub : n.subgraphs()) {
                graphs(sub, out);
            }
        }
        return out;
    }

    /** The rules, over one model's inferred types. Each {@code try} checks everything, then rewrites. */
    private static final class Sweep {
        private final InferenceResult types;
        private final long opset;
        private final RewriteCounter counter;

        Sweep(InferenceResult types, long opset, RewriteCounter counter) {
            this.types = types;
            this.opset = opset;
            this.counter = counter;
        }

        boolean tryEliminate(Node n) {
            return switch (n.opType()) {
                case "Identity" -> counter.countIf("Identity", bypass(n, n.input(0)));
                case "Dropout" -> counter.countIf("Dropout", tryEliminateDropout(n));
                case "Cast" -> counter.countIf("Cast", tryEliminateCast(n));
                case "Reshape" -> counter.countIf("Reshape+Reshape", tryFoldReshapePair(n))
                        || counter.countIf("Reshape", tryEliminateReshape(n));
                case "Flatten" -> counter.countIf("Flatten", tryEliminateFlatten(n));
                case "Squeeze" -> counter.countIf("Squeeze", tryEliminateSqueeze(n));
                case "Unsqueeze" -> counter.countIf("Unsqueeze", tryEliminateUnsqueeze(n));
                case "Expand" -> counter.countIf("Expand", tryEliminateExpand(n));
                case "Slice" -> counter.countIf("Slice", tryEliminateSlice(n));
                case "Concat" -> counter.countIf("Concat", tryEliminateConcat(n));
                case "Pad" -> counter.countIf("Pad", tryEliminatePad(n));
                case "Transpose" -> tryEliminateTranspose(n);
                default -> false;
            };
        }

        private boolean tryEliminateDropout(Node n) {
            boolean inference;
            if (opset >= 12) {
                Value mode = n.input(2);
                inference = mode == null || NoOpProofs.isFalse(GraphEdits.constant(mode));
            } else {
                inference = opset >= 7 || n.intAttr("is_test", 0) == 1;
            }
            return inference && bypass(n, n.input(0));
        }

        private boolean tryEliminateCast(Node n) {
            DataType in = n.input(0) == null ? null : types.elemTypeOf(n.input(0));
            Attribute to = n.attribute("to");
            return in != null && to != null && to.asInt() == in.code() && bypass(n, n.input(0));
        }

        private boolean tryEliminateReshape(Node n) {
            long[] target = opset >= 5 ? NoOpProofs.longs(n.input(1)) : null;
            return target != null && NoOpProofs.reshapeKeepsShape(shape(n.input(0)), target, allowZero(n))
                    && bypass(n, n.input(0));
        }

        private boolean tryFoldReshapePair(Node n) {
            Value mid = n.input(0);
            Node inner = mid == null ? null : mid.producer();
            long[] target = opset >= 5 ? NoOpProofs.longs(n.input(1)) : null;
            if (inner == null || !inner.is("Reshape") || inner.graph() != n.graph() || !GraphEdits.hasSoleUse(mid)
                    || target == null || inner.input(0) == null) {
                return false;
            }
            Value x = inner.input(0);
            if (!allowZero(n)) {
                Shape xs = shape(x);
                Shape ms = shape(mid);
                for (int i = 0; i < target.length; i++) {
                    if (target[i] == 0 && (xs == null || ms == null || i >= xs.rank() || i >= ms.rank()
                            || !NoOpProofs.sameDim(xs.dim(i), ms.dim(i)))) {
                        return false;
                    }
                }
            }
            n.setInput(0, x);
            GraphEdits.removeNodeAndUnusedConstants(inner);
            debug(n, "reads " + x.name() + " past " + inner.describe());
            return true;
        }

        private boolean tryEliminateFlatten(Node n) {
            return NoOpProofs.flattenKeepsShape(shape(n.input(0)), n.intAttr("axis", 1)) && bypass(n, n.input(0));
        }

        private boolean tryEliminateSqueeze(Node n) {
            long[] axes = axes(n);
            return axes != null && NoOpProofs.squeezeKeepsShape(shape(n.input(0)), axes) && bypass(n, n.input(0));
        }

        private boolean tryEliminateUnsqueeze(Node n) {
            long[] axes = axes(n);
            return axes != null && NoOpProofs.unsqueezeKeepsShape(axes) && bypass(n, n.input(0));
        }

        /**
         * @return the axes of a Squeeze or Unsqueeze (attribute before opset 13, input since), an
         *     empty array when none are given, or null when they are not constant
         */
        private long[] axes(Node n) {
            if (opset < 13) {
                long[] a = n.intsAttr("axes");
                return a == null ? new long[0] : a;
            }
            return n.input(1) == null ? new long[0] : NoOpProofs.longs(n.input(1));
        }

        private boolean tryEliminateExpand(Node n) {
            long[] target = NoOpProofs.longs(n.input(1));
            return target != null && NoOpProofs.expandKeepsShape(shape(n.input(0)), target) && bypass(n, n.input(0));
        }

        private boolean tryEliminateSlice(Node n) {
            long[] starts;
            long[] ends;
            long[] axes;
            long[] steps = null;
            if (opset < 10) {
                starts = n.intsAttr("starts");
                ends = n.intsAttr("ends");
                axes = n.intsAttr("axes");
            } else {
                starts = NoOpProofs.longs(n.input(1));
                ends = NoOpProofs.longs(n.input(2));
                axes = n.input(3) == null ? null : NoOpProofs.longs(n.input(3));
                steps = n.input(4) == null ? null : NoOpProofs.longs(n.input(4));
                if (n.input(3) != null && axes == null || n.input(4) != null && steps == null) {
                    return false; // given but not constant
                }
            }
            return starts != null && ends != null
                    && NoOpProofs.sliceTakesAll(shape(n.input(0)), starts, ends, axes, steps) && bypass(n, n.input(0));
        }

        private boolean tryEliminateConcat(Node n) {
            return n.inputs().size() == 1 && bypass(n, n.input(0));
        }

        private boolean tryEliminatePad(Node n) {
            long[] pads = opset >= 11 ? NoOpProofs.longs(n.input(1)) : n.intsAttr(opset >= 2 ? "pads" : "paddings");
            return pads != null && NoOpProofs.allZero(pads) && bypass(n, n.input(0));
        }

        /** Identity perm, a cancelling pair, or a pair folded into one; counted here by kind. */
        private boolean tryEliminateTranspose(Node n) {
            Value mid = n.input(0);
            long[] outer = mid == null ? null : NoOpProofs.permutation(n.intsAttr("perm"), rank(mid));
            if (outer == null) {
                return false;
            }
            if (NoOpProofs.isIdentity(outer) && bypass(n, mid)) {
                counter.count("Transpose");
                return true;
            }
            Node inner = mid.producer();
            if (inner == null || !inner.is("Transpose") || inner.graph() != n.graph() || !GraphEdits.hasSoleUse(mid)
                    || inner.input(0) == null) {
                return false;
            }
            Value x = inner.input(0);
            long[] first = NoOpProofs.permutation(inner.intsAttr("perm"), rank(x));
            if (first == null || first.length != outer.length) {
                return false;
            }
            long[] composed = new long[outer.length];
            for (int i = 0; i < outer.length; i++) {
                composed[i] = first[(int) outer[i]];
            }
            if (NoOpProofs.isIdentity(composed) && bypass(n, x)) {
                GraphEdits.removeNodeAndUnusedConstants(inner);
                counter.count("Transpose pair");
                return true;
            }
            n.setInput(0, x);
            n.setAttribute(Attribute.ofInts("perm", composed));
            GraphEdits.removeNodeAndUnusedConstants(inner);
            debug(n, "folds " + inner.describe() + " into perm " + Arrays.toString(composed));
            counter.count("Transpose+Transpose");
            return true;
        }

        /**
         * Makes every reader of the node's first output read {@code source} instead, then removes
         * the node. Checks first: nothing changes when the answer is false.
         *
         * @return false when {@code source} is missing, another output of the node is still read,
         *     or the output is a graph output whose name cannot move onto {@code source}
         */
        private boolean bypass(Node n, Value source) {
            if (source == null) {
                return false;
            }
            for (int i = 1; i < n.outputs().size(); i++) {
                Value extra = n.output(i);
                if (!extra.uses().isEmpty() || extra.isGraphOutput()) {
                    return false;
                }
            }
            if (!GraphEdits.canReplace(n.output(0), source)) {
                return false;
            }
            debug(n, "removed; readers now read " + source.name());
            GraphEdits.replace(n.output(0), source);
            GraphEdits.removeNodeAndUnusedConstants(n);
            return true;
        }

        private boolean allowZero(Node n) {
            return opset >= 14 && n.intAttr("allowzero", 0) != 0;
        }

        private Shape shape(Value v) {
            return v == null ? null : types.shapeOf(v);
        }

        private int rank(Value v) {
            Shape s = shape(v);
            return s == null ? -1 : s.rank();
        }

        private static void debug(Node n, String what) {
            LOG.log(System.Logger.Level.DEBUG, () -> ID + ": " + n.describe() + " " + what);
        }
    }
}
