package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import java.util.Map;

/**
 * Rules for ops that move or relabel elements without arithmetic. Reshape, Flatten, Squeeze and
 * Unsqueeze keep the element order, so the gradient is {@code g} reshaped to the input's shape
 * (a constant shape when it is static, else {@code Shape(x)} at run time). Identity passes
 * {@code g} on; Transpose applies the inverse permutation; Expand is a broadcast, so its gradient
 * is summed back ({@link Broadcasting}); Cast between floating types casts the gradient back to
 * the input's type (a Cast to or from an integer type is off the differentiable path: integer
 * values carry no gradient).
 */
final class ShapeRules {
    private ShapeRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("Identity", ctx -> ctx.addInputGrad(0, ctx.outputGrad(0)));
        BackwardRule reshape = new SameElements();
        for (String op : new String[] {"Reshape", "Flatten", "Squeeze", "Unsqueeze"}) {
            rules.put(op, reshape);
        }
        rules.put("Transpose", new TransposeRule());
        rules.put("Expand", new ExpandRule());
        rules.put("Cast", new CastRule());
    }

    private static String inputRankKnown(Node node, ForwardInfo info) {
        return info.rank(node.input(0)) < 0 ? "rank of '" + node.input(0).name() + "' unknown" : null;
    }

    private static final class SameElements implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return inputRankKnown(node, info);
        }

        @Override
        public void emit(BackwardContext ctx) {
            ctx.addInputGrad(0, ctx.reshapeLike(ctx.outputGrad(0), ctx.in(0)));
        }
    }

    private static final class TransposeRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return inputRankKnown(node, info);
        }

        @Override
        public void emit(BackwardContext ctx) {
            int rank = ctx.shape(ctx.in(0)).rank();
            long[] perm = ctx.node().intsAttr("perm");
            if (perm == null) {
                perm = new long[rank];
                for (int i = 0; i < rank; i++) {
                    perm[i] = rank - 1 - i;
                }
            }
            long[] inverse = new long[rank];
            for (int i = 0; i < rank; i++) {
                inverse[(int) perm[i]] = i;
            }
            ctx.addInputGrad(0, ctx.emit().transpose(ctx.outputGrad(0), inverse));
        }
    }

    private static final class ExpandRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            String r = inputRankKnown(node, info);
            return r != null ? r : info.rank(node.output(0)) < 0 ? "rank of '" + node.output(0).name() + "' unknown" : null;
        }

        @Override
        public void emit(BackwardContext ctx) {
            ctx.addInputGrad(0, ctx.unbroadcast(ctx.outputGrad(0), ctx.shape(ctx.out(0)), ctx.in(0)));
        }
    }

    private static final class CastRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return info.elemType(node.input(0)) == null ? "element type of '" + node.input(0).name() + "' unknown" : null;
        }

        @Override
        public void emit(BackwardContext ctx) {
            Value g = ctx.outputGrad(0);
            Value x = ctx.in(0);
            ctx.addInputGrad(0, ctx.dtype(x) == ctx.dtype(ctx.out(0)) ? g : ctx.emit().cast(g, ctx.dtype(x)));
        }
    }
}
