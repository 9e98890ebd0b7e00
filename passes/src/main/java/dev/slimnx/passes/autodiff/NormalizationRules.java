package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import java.util.Map;

/**
 * Rules for Softmax, LayerNormalization and BatchNormalization.
 *
 * <p>Softmax along one axis (opset 13 semantics, which the builder requires): the Jacobian of
 * {@code y = softmax(x)} is {@code diag(y) - y yᵀ}, so {@code dx = y ⊙ (g - Σ(g ⊙ y))} with the sum
 * along the axis, kept as size 1.
 *
 * <p>LayerNormalization over the axes {@code [axis, rank)}: with {@code μ}, {@code σ²} the mean and
 * variance over those axes, {@code r = 1/√(σ² + ε)}, {@code x̂ = (x - μ)·r} and
 * {@code y = x̂·scale + bias}:
 * {@code dbias = Σ g} and {@code dscale = Σ g ⊙ x̂} over the axes the parameters were broadcast
 * along, and, with {@code ĝ = g ⊙ scale} and means over the normalized axes,
 * {@code dx = r·(ĝ - mean(ĝ) - x̂·mean(ĝ ⊙ x̂))}.
 *
 * <p>NOTE: for a FLOAT input, {@code μ} and {@code r} are read from the node's optional Mean and
 * InvStdDev outputs, which the rule adds to the forward node of the gradient model (a copy; ONNX
 * Runtime computes them anyway), saving two reductions over the input per LayerNormalization.
 * For other inputs they are recomputed in the backward graph: those outputs are typed by
 * {@code stash_type}, float even for a double input, which would cost the double precision.
 *
 * <p>BatchNormalization in inference form ({@code training_mode = 0}, as every exported model has
 * it): per channel (axis 1), with {@code r = 1/√(var + ε)}, {@code y = (x - mean)·r·scale + B}.
 * Then {@code dB = Σ g} and {@code dscale = r·Σ g ⊙ (x - mean)} over every axis but the channel's,
 * and {@code dx = g·(scale·r)}, the per-channel factor computed on the {@code [C]} vectors before
 * it is broadcast. The running mean and variance are constants of the model, not differentiated
 * (a rule that treated them as weights would train statistics that are meant to be measured).
 */
final class NormalizationRules {
    private NormalizationRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("Softmax", new SoftmaxRule());
        rules.put("LayerNormalization", new LayerNormRule());
        rules.put("BatchNormalization", new BatchNormRule());
    }

    private static String rankKnown(Node node, ForwardInfo info) {
        return info.rank(node.input(0)) < 0 ? "rank of '" + node.input(0).name() + "' unknown" : null;
    }

    private static final class SoftmaxRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return rankKnown(node, info);
        }

        @Override
        public void emit(BackwardContext c) {
            GraphEmitter e = c.emit();
            Value y = c.out(0);
            Value g = c.outputGrad(0);
            int axis = ForwardInfo.normalizeAxis(c.node().intAttr("axis", -1), c.shape(y).rank());
            Value dot = e.reduceSum(e.op("Mul", g, y), new long[] {axis}, true);
            c.addInputGrad(0, e.op("Mul", y, e.op("Sub", g, dot)));
        }
    }

    private static final class LayerNormRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            for (Value v : node.inputs()) {
                if (v != null && info.rank(v) < 0) {
                    return "rank of '" + v.name() + "' unknown";
                }
            }
            for (int i = 1; i < node.outputs().size(); i++) {
                Value v = node.output(i);
                if (!v.uses().isEmpty() || v.isGraphOutput()) {
                    return "its Mean or InvStdDev output is read; only Y is differentiated";
                }
            }
            return null;
        }

        @Override
        public void emit(BackwardContext c) {
            GraphEmitter e = c.emit();
            Node n = c.node();
            Value x = c.in(0);
            Value scale = c.in(1);
            Value g = c.outputGrad(0);
            int rank = c.shape(x).rank();
            int axis = ForwardInfo.normalizeAxis(n.intAttr("axis", -1), rank);
            long[] axes = new long[rank - axis];
            for (int i = 0; i < axes.length; i++) {
                axes[i] = axis + i;
            }
            if (c.needsGrad(2)) {
                c.addInputGrad(2, c.unbroadcast(g, c.shape(c.out(0)), c.in(2)));
            }
            if (!c.needsGrad(0) && !c.needsGrad(1)) {
                return;
            }
            Value mu;
            Value r;
            if (c.dtype(x) == DataType.FLOAT && n.intAttr("stash_type", 1) == 1) {
                mu = statistic(e, n, 1, "mean");
                r = statistic(e, n, 2, "inv_std_dev");
            } else {
                mu = e.reduceMean(x, axes, true);
                Value centered = e.op("Sub", x, mu);
                Value variance = e.reduceMean(e.op("Mul", centered, centered), axes, true);
                Value eps = c.scalarLike(n.floatAttr("epsilon", 1e-5f), x);
                r = e.op("Reciprocal", e.op("Sqrt", e.op("Add", variance, eps)));
            }
            Value xhat = e.op("Mul", e.op("Sub", x, mu), r);
            if (c.needsGrad(1)) {
                c.addInputGrad(1, c.unbroadcast(e.op("Mul", g, xhat), c.shape(c.out(0)), scale));
            }
            if (c.needsGrad(0)) {
                Value gh = e.op("Mul", g, scale);
                Value m1 = e.reduceMean(gh, axes, true);
                Value m2 = e.reduceMean(e.op("Mul", gh, xhat), axes, true);
                Value inner = e.op("Sub", e.op("Sub", gh, m1), e.op("Mul", xhat, m2));
                c.addInputGrad(0, e.op("Mul", r, inner));
            }
        }
    }

    /**
     * The node's optional output {@code slot} (Mean or InvStdDev), named and added when the
     * exported node left it out.
     */
    private static Value statistic(GraphEmitter e, Node n, int slot, String hint) {
        while (n.outputs().size() < slot) {
            n.addOutput(new Value(""));
        }
        String name = n.outputs().size() == slot || n.output(slot).name().isEmpty()
                ? e.graph().names().fresh(n.output(0).name() + "_" + hint) : null;
        if (n.outputs().size() == slot) {
            n.addOutput(new Value(name));
        } else if (name != null) {
            n.output(slot).setName(name);
        }
        return n.output(slot);
    }

    private static final class BatchNormRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            for (Value v : node.inputs()) {
                if (v != null && info.rank(v) < 0) {
                    return "rank of '" + v.name() + "' unknown";
                }
            }
            if (info.rank(node.input(0)) < 2) {
                return "input of rank below 2 has no channel axis";
            }
            if (node.intAttr("training_mode", 0) != 0) {
                return "training mode (batch statistics) has no rule; export the model in eval mode";
            }
            for (int i = 1; i < node.outputs().size(); i++) {
                Value v = node.output(i);
                if (!v.uses().isEmpty() || v.isGraphOutput()) {
                    return "its running statistics outputs are read; only Y is differentiated";
                }
            }
            return null;
        }

        @Override
        public boolean differentiates(Node node, int input) {
            return input < 3;
        }

        @Override
        public void emit(BackwardContext c) {
            GraphEmitter e = c.emit();
            Node n = c.node();
            Value x = c.in(0);
            Value g = c.outputGrad(0);
            int rank = c.shape(x).rank();
            long[] reduced = new long[rank - 1];
            long[] spatial = new long[rank - 2];
            for (int i = 0; i < reduced.length; i++) {
                reduced[i] = i == 0 ? 0 : i + 1;
            }
            for (int i = 0; i < spatial.length; i++) {
                spatial[i] = i + 1;
            }
            if (c.needsGrad(2)) {
                c.addInputGrad(2, e.reduceSum(g, reduced, false));
            }
            if (!c.needsGrad(0) && !c.needsGrad(1)) {
                return;
            }
            Value eps = c.scalarLike(n.floatAttr("epsilon", 1e-5f), x);
            Value r = e.op("Reciprocal", e.op("Sqrt", e.op("Add", c.in(4), eps)));
            if (c.needsGrad(1)) {
                Value centered = e.op("Sub", x, perChannel(e, c.in(3), spatial));
                Value sum = e.reduceSum(e.op("Mul", g, centered), reduced, false);
                c.addInputGrad(1, e.op("Mul", sum, r));
            }
            if (c.needsGrad(0)) {
                c.addInputGrad(0, e.op("Mul", g, perChannel(e, e.op("Mul", c.in(1), r), spatial)));
            }
        }

        /** A {@code [C]} vector as {@code [C, 1, ...]}, which broadcasts along x's channel axis. */
        private static Value perChannel(GraphEmitter e, Value v, long[] spatial) {
            return spatial.length == 0 ? v : e.unsqueeze(v, spatial);
        }
    }
}
