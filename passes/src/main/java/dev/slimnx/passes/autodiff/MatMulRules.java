package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Rules for MatMul and Gemm.
 *
 * <p>MatMul ({@code y = a @ b}, numpy semantics): {@code da = g @ bᵀ}, {@code db = aᵀ @ g} on the
 * last two axes, each then summed over the batch axes its operand was broadcast along. A 1-D
 * operand is first promoted as numpy does ({@code a} to {@code [1, K]}, {@code b} to {@code [K, 1]},
 * with {@code g} unsqueezed to match) and the promoted axis squeezed off its gradient again. The
 * common weight case, {@code a} of rank 3 or more against a static 2-D {@code b}, computes
 * {@code db} as one {@code Gemm} over the flattened batch ({@code a} as {@code [-1, K]}, transA),
 * which is the same sum done as one matrix product instead of a batched product and a ReduceSum.
 *
 * <p>Gemm ({@code y = α·op(a)·op(b) + β·c}): with {@code g = dL/dy},
 * {@code d op(a) = α·g·op(b)ᵀ} and {@code d op(b) = α·op(a)ᵀ·g}, undone through the transposes
 * so each is one Gemm again; {@code dc = β·g} reduced to {@code c}'s broadcast shape.
 */
final class MatMulRules {
    private MatMulRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("MatMul", new MatMulRule());
        rules.put("Gemm", new GemmRule());
    }

    private static String ranksKnown(Node node, ForwardInfo info) {
        for (Value v : node.inputs()) {
            if (v != null && info.rank(v) < 0) {
                return "rank of '" + v.name() + "' unknown";
            }
        }
        return info.rank(node.output(0)) < 0 ? "rank of '" + node.output(0).name() + "' unknown" : null;
    }

    private static long[] swapLastTwo(int rank) {
        long[] perm = new long[rank];
        for (int i = 0; i < rank; i++) {
            perm[i] = i;
        }
        perm[rank - 2] = rank - 1;
        perm[rank - 1] = rank - 2;
        return perm;
    }

    private static final class MatMulRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return ranksKnown(node, info);
        }

        @Override
        public void emit(BackwardContext c) {
            GraphEmitter e = c.emit();
            Value a = c.in(0);
            Value b = c.in(1);
            Value g = c.outputGrad(0);
            Shape sa = c.shape(a);
            Shape sb = c.shape(b);
            int ra = sa.rank();
            int rb = sb.rank();
            if (ra == 1 && rb == 1) {
                // a dot product: g is a scalar
                if (c.needsGrad(0)) {
                    c.addInputGrad(0, e.op("Mul", g, b));
                }
                if (c.needsGrad(1)) {
                    c.addInputGrad(1, e.op("Mul", g, a));
                }
                return;
            }
            // promote 1-D operands as numpy does; gp is g with the promoted axes put back
            Value ap = ra == 1 ? e.unsqueeze(a, 0) : a;
            Value bp = rb == 1 ? e.unsqueeze(b, 1) : b;
            Value gp = g;
            if (ra == 1) {
                gp = e.unsqueeze(gp, -2);
            }
            if (rb == 1) {
                gp = e.unsqueeze(gp, -1);
            }
            int r = Math.max(Math.max(ra, rb), 2);
            List<Dim> batch = c.shape(c.out(0)).dims().subList(0, r - 2);
            if (c.needsGrad(0)) {
                int rbp = Math.max(rb, 2);
                Value da = e.op("MatMul", gp, e.transpose(bp, swapLastTwo(rbp)));
                if (ra == 1) {
                    da = e.squeeze(da, -2);
                }
                c.addInputGrad(0, c.unbroadcast(da, concat(batch, sa.dims().subList(Math.max(0, ra - 2), ra)), a));
            }
            if (c.needsGrad(1)) {
                if (rb == 2 && ra > 2 && sb.isStatic()) {
                    long k = sb.dim(0).value();
                    long n = sb.dim(1).value();
                    Value a2 = e.reshape(a, e.longs(-1, k));
                    Value g2 = e.reshape(g, e.longs(-1, n));
                    c.addInputGrad(1, e.op("Gemm", List.of(a2, g2), Attribute.ofInt("transA", 1)));
                    return;
                }
                int rap = Math.max(ra, 2);
                Value db = e.op("MatMul", e.transpose(ap, swapLastTwo(rap)), gp);
                if (rb == 1) {
                    db = e.squeeze(db, -1);
                }
                c.addInputGrad(1, c.unbroadcast(db, concat(batch, sb.dims().subList(Math.max(0, rb - 2), rb)), b));
            }
        }

        private static Shape concat(List<Dim> batch, List<Dim> tail) {
            List<Dim> dims = new ArrayList<>(batch);
            dims.addAll(tail);
            return Shape.of(dims);
        }
    }

    private static final class GemmRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return ranksKnown(node, info);
        }

        @Override
        public void emit(BackwardContext c) {
            Node n = c.node();
            GraphEmitter e = c.emit();
            float alpha = n.floatAttr("alpha", 1f);
            float beta = n.floatAttr("beta", 1f);
            long transA = n.intAttr("transA", 0);
            long transB = n.intAttr("transB", 0);
            Value g = c.outputGrad(0);
            Value a = c.in(0);
            Value b = c.in(1);
            if (c.needsGrad(0)) {
                // transA = 0: da = α·g·op(b)ᵀ;  transA = 1: da = (α·g·op(b)ᵀ)ᵀ = α·op(b)·gᵀ
                Value da = transA == 0
                        ? gemm(e, g, b, alpha, 0, 1 - transB)
                        : gemm(e, b, g, alpha, transB, 1);
                c.addInputGrad(0, da);
            }
            if (c.needsGrad(1)) {
                // transB = 0: db = α·op(a)ᵀ·g;  transB = 1: db = (α·op(a)ᵀ·g)ᵀ = α·gᵀ·op(a)
                Value db = transB == 0
                        ? gemm(e, a, g, alpha, 1 - transA, 0)
                        : gemm(e, g, a, alpha, 1, transA);
                c.addInputGrad(1, db);
            }
            if (c.needsGrad(2)) {
                Value scaled = beta == 1f ? g : e.op("Mul", g, c.scalarLike(beta, c.out(0)));
                c.addInputGrad(2, c.unbroadcast(scaled, c.shape(c.out(0)), c.in(2)));
            }
        }

        private static Value gemm(GraphEmitter e, Value x, Value y, float alpha, long transX, long transY) {
            List<Attribute> attrs = new ArrayList<>();
            if (alpha != 1f) {
                attrs.add(Attribute.ofFloat("alpha", alpha));
            }
            if (transX != 0) {
                attrs.add(Attribute.ofInt("transA", 1));
            }
            if (transY != 0) {
                attrs.add(Attribute.ofInt("transB", 1));
            }
            return e.op("Gemm", List.of(x, y), attrs.toArray(Attribute[]::new));
        }
    }
}
