package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import java.util.Map;

/**
 * Rules for elementwise ops. With {@code g = dL/dy}:
 * <ul>
 *   <li>Add: {@code da = g}, {@code db = g}; Sub: {@code db = -g}; Mul: {@code da = g·b},
 *       {@code db = g·a}; Div ({@code y = a/b}): {@code da = g/b}, {@code db = -g·y/b};
 *       Pow ({@code y = a^b}): {@code da = g·b·a^(b-1)}, {@code db = g·y·ln a} (NaN where
 *       {@code a <= 0}, as the real logarithm is). Each is then {@link Broadcasting reduced} to its
 *       input's shape.</li>
 *   <li>Neg: {@code -g}; Sqrt: {@code g/(2y)}; Exp: {@code g·y}; Log: {@code g/x};
 *       Erf: {@code g·(2/√π)·exp(-x²)}; Tanh: {@code g·(1-y²)}; Sigmoid: {@code g·y·(1-y)};
 *       Relu: {@code g} where {@code x > 0}, else 0 (the subgradient 0 at the kink, as PyTorch).</li>
 *   <li>Where ({@code y = c ? a : b}): {@code da = c ? g : 0}, {@code db = c ? 0 : g}, reduced to
 *       each input's shape; the condition is boolean and gets no gradient.</li>
 *   <li>Clip ({@code y = min(max(x, lo), hi)}, either bound optional): {@code dx = g} where
 *       {@code lo < x < hi}, else 0; a bound that is differentiated gets the sum of {@code g}
 *       where it is the output ({@code x <= lo}, {@code x >= hi}), so each element's gradient goes
 *       to exactly one input.</li>
 * </ul>
 */
final class ElementwiseRules {
    private ElementwiseRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("Add", new Broadcast(0, (c, g) -> g, (c, g) -> g));
        rules.put("Sub", new Broadcast(0, (c, g) -> g, (c, g) -> c.emit().op("Neg", g)));
        rules.put("Mul", new Broadcast(0, (c, g) -> c.emit().op("Mul", g, c.in(1)),
                (c, g) -> c.emit().op("Mul", g, c.in(0))));
        rules.put("Div", new Broadcast(0, (c, g) -> c.emit().op("Div", g, c.in(1)),
                (c, g) -> c.emit().op("Neg", c.emit().op("Div", c.emit().op("Mul", g, c.out(0)), c.in(1)))));
        rules.put("Pow", new Broadcast(0, ElementwiseRules::powBase, ElementwiseRules::powExponent));
        rules.put("Where", new Broadcast(1, (c, g) -> c.emit().op("Where", c.in(0), g, c.scalarLike(0, c.out(0))),
                (c, g) -> c.emit().op("Where", c.in(0), c.scalarLike(0, c.out(0)), g)));

        rules.put("Neg", new Unary((c, g) -> c.emit().op("Neg", g)));
        rules.put("Sqrt", new Unary((c, g) -> c.emit().op("Div", c.emit().op("Mul", g, c.scalarLike(0.5, c.out(0))),
                c.out(0))));
        rules.put("Exp", new Unary((c, g) -> c.emit().op("Mul", g, c.out(0))));
        rules.put("Log", new Unary((c, g) -> c.emit().op("Div", g, c.in(0))));
        rules.put("Erf", new Unary(ElementwiseRules::erf));
        rules.put("Tanh", new Unary((c, g) -> {
            GraphEmitter e = c.emit();
            Value y = c.out(0);
            return e.op("Mul", g, e.op("Sub", c.scalarLike(1, y), e.op("Mul", y, y)));
        }));
        rules.put("Sigmoid", new Unary((c, g) -> {
            GraphEmitter e = c.emit();
            Value y = c.out(0);
            return e.op("Mul", g, e.op("Mul", y, e.op("Sub", c.scalarLike(1, y), y)));
        }));
        rules.put("Clip", new ClipRule());
        rules.put("Relu", new Unary((c, g) -> {
            GraphEmitter e = c.emit();
            Value x = c.in(0);
            Value zero = c.scalarLike(0, x);
            return e.op("Where", e.op("Greater", x, zero), g, zero);
        }));
    }

    private static Value powBase(BackwardContext c, Value g) {
        GraphEmitter e = c.emit();
        Value a = c.in(0);
        Value b = exponentLike(c);
        Value aPow = e.op("Pow", a, e.op("Sub", b, c.scalarLike(1, a)));
        return e.op("Mul", e.op("Mul", g, b), aPow);
    }

    private static Value powExponent(BackwardContext c, Value g) {
        GraphEmitter e = c.emit();
        return e.op("Mul", e.op("Mul", g, c.out(0)), e.op("Log", c.in(0)));
    }

    /** The exponent in the base's element type: an integer exponent (legal in Pow) is cast. */
    private static Value exponentLike(BackwardContext c) {
        Value b = c.in(1);
        DataType baseType = c.dtype(c.in(0));
        return c.dtype(b) == baseType ? b : c.emit().cast(b, baseType);
    }

    private static Value erf(BackwardContext c, Value g) {
        GraphEmitter e = c.emit();
        Value x = c.in(0);
        Value gauss = e.op("Exp", e.op("Neg", e.op("Mul", x, x)));
        return e.op("Mul", g, e.op("Mul", gauss, c.scalarLike(2 / Math.sqrt(Math.PI), x)));
    }

    private static final class ClipRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            for (Value v : new Value[] {node.input(0), node.input(1), node.input(2), node.output(0)}) {
                if (v != null && info.rank(v) < 0) {
                    return "rank of '" + v.name() + "' unknown";
                }
            }
            return null;
        }

        @Override
        public void emit(BackwardContext c) {
            GraphEmitter e = c.emit();
            Value g = c.outputGrad(0);
            Value x = c.in(0);
            Value lo = c.in(1);
            Value hi = c.in(2);
            Value zero = c.scalarLike(0, x);
            if (c.needsGrad(0)) {
                Value inside = null;
                if (lo != null) {
                    inside = e.op("Greater", x, lo);
                }
                if (hi != null) {
                    Value below = e.op("Less", x, hi);
                    inside = inside == null ? below : e.op("And", inside, below);
                }
                c.addInputGrad(0, inside == null ? g : e.op("Where", inside, g, zero));
            }
            Shape out = c.shape(c.out(0));
            if (c.needsGrad(1)) {
                c.addInputGrad(1, c.unbroadcast(e.op("Where", e.op("LessOrEqual", x, lo), g, zero), out, lo));
            }
            if (c.needsGrad(2)) {
                c.addInputGrad(2, c.unbroadcast(e.op("Where", e.op("GreaterOrEqual", x, hi), g, zero), out, hi));
            }
        }
    }

    /** A gradient term of the output's shape, for one input. */
    @FunctionalInterface
    interface Term {
        Value apply(BackwardContext ctx, Value outputGrad);
    }

    /** One input, one output, same shape: the term is the input's gradient. */
    record Unary(Term dx) implements BackwardRule {
        @Override
        public void emit(BackwardContext ctx) {
            if (ctx.needsGrad(0)) {
                ctx.addInputGrad(0, dx.apply(ctx, ctx.outputGrad(0)));
            }
        }
    }

    /**
     * Two broadcast operands at inputs {@code first} and {@code first + 1}; each term is reduced to
     * its operand's shape.
     */
    record Broadcast(int first, Term da, Term db) implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            for (Value v : new Value[] {node.input(first), node.input(first + 1), node.output(0)}) {
                if (info.rank(v) < 0) {
                    return "rank of '" + v.name() + "' unknown";
                }
            }
            return null;
        }

        @Override
        public void emit(BackwardContext ctx) {
            Value g = ctx.outputGrad(0);
            Node n = ctx.node();
            if (ctx.needsGrad(first)) {
                ctx.addInputGrad(first, ctx.unbroadcast(da.apply(ctx, g), ctx.shape(n.output(0)), n.input(first)));
            }
            if (ctx.needsGrad(first + 1)) {
                ctx.addInputGrad(first + 1, ctx.unbroadcast(db.apply(ctx, g), ctx.shape(n.output(0)),
                        n.input(first + 1)));
            }
        }
    }
}
