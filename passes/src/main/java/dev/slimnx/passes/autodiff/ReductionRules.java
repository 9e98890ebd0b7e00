package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.Arrays;
import java.util.Map;

/**
 * Rules for ReduceSum and ReduceMean. Every input element reduced into an output element gets
 * that output's gradient: {@code g} (with the reduced axes put back as size 1 when
 * {@code keepdims = 0}) is expanded to the input's shape. For the mean it is first divided by the
 * number of elements averaged, a constant when the reduced dims are known, else
 * {@code Size(x) / Size(y)} at run time.
 *
 * <p>Axes come from the {@code axes} input (ReduceSum from opset 13, ReduceMean from 18) or
 * attribute (ReduceMean before 18), and must be constant. No axes means every axis, unless
 * {@code noop_with_empty_axes} makes the op an identity.
 */
final class ReductionRules {
    private ReductionRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("ReduceSum", new ReduceRule(false));
        rules.put("ReduceMean", new ReduceRule(true));
    }

    private record ReduceRule(boolean mean) implements BackwardRule {
        /** @return the reduced axes, sorted and in [0, rank); empty for a no-op; null when not constant */
        private static long[] axes(Node node, ForwardInfo info) {
            int rank = info.rank(node.input(0));
            long[] axes;
            if (node.inputs().size() > 1 && node.input(1) != null) {
                axes = info.knownLongs(node.input(1));
                if (axes == null) {
                    return null;
                }
            } else {
                axes = node.intsAttr("axes");
            }
            if (axes == null || axes.length == 0) {
                if (node.intAttr("noop_with_empty_axes", 0) != 0) {
                    return new long[0];
                }
                axes = new long[rank];
                for (int i = 0; i < rank; i++) {
                    axes[i] = i;
                }
            }
            long[] out = new long[axes.length];
            for (int i = 0; i < axes.length; i++) {
                out[i] = ForwardInfo.normalizeAxis(axes[i], rank);
            }
            Arrays.sort(out);
            return out;
        }

        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            if (info.rank(node.input(0)) < 0) {
                return "rank of '" + node.input(0).name() + "' unknown";
            }
            return axes(node, info) == null ? "axes must be constant" : null;
        }

        @Override
        public void emit(BackwardContext c) {
            GraphEmitter e = c.emit();
            Node n = c.node();
            Value x = c.in(0);
            Value g = c.outputGrad(0);
            long[] axes = axes(n, c.info());
            if (axes.length == 0) {
                c.addInputGrad(0, g);
                return;
            }
            if (n.intAttr("keepdims", 1) == 0) {
                g = e.unsqueeze(g, axes);
            }
            if (mean) {
                g = e.op("Div", g, count(c, x, axes));
            }
            c.addInputGrad(0, e.op("Expand", g, expandTarget(e, x, c.shape(x), axes)));
        }

        /**
         * What g (x's shape with the reduced axes of size 1) is expanded to: x's dims on the reduced
         * axes, 1 on the others (g has those already, and Expand broadcasts), so the target is a
         * constant whenever the reduced dims are known.
         */
        private static Value expandTarget(GraphEmitter e, Value x, Shape sx, long[] axes) {
            long[] dims = new long[sx.rank()];
            java.util.Arrays.fill(dims, 1);
            for (long a : axes) {
                Dim d = sx.dim((int) a);
                if (!d.isKnown()) {
                    return e.shapeOf(x, sx);
                }
                dims[(int) a] = d.value();
            }
            return e.longs(dims);
        }

        /** The number of elements averaged into each output element, in x's element type. */
        private static Value count(BackwardContext c, Value x, long[] axes) {
            Shape sx = c.shape(x);
            long known = 1;
            for (long a : axes) {
                Dim d = sx.dim((int) a);
                if (!d.isKnown()) {
                    GraphEmitter e = c.emit();
                    Value ratio = e.op("Div", e.op("Size", x), e.op("Size", c.out(0)));
                    return e.cast(ratio, c.dtype(x));
                }
                known *= d.value();
            }
            return c.scalarLike(known, x);
        }
    }
}
