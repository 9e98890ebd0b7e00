package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BinaryOperator;

/**
 * Ops whose output has the shape of an input (unary ops, activations) or the broadcast shape of
 * all inputs (arithmetic, comparisons, logic, Where). Arithmetic on known small integer values is
 * evaluated too, since PyTorch computes Reshape targets with Mul/Div/Add on Shape outputs.
 */
final class ElementwiseRules {
    private ElementwiseRules() {
    }

    private static final List<String> UNARY = List.of("Abs", "Neg", "Sqrt", "Reciprocal", "Exp", "Log", "Erf", "Tanh",
            "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Gelu", "Softplus", "Softsign", "Sin", "Cos",
            "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "Floor", "Ceil", "Round", "Sign",
            "Elu", "Selu", "Celu", "Mish", "Swish", "ThresholdedRelu", "Softmax", "LogSoftmax", "Hardmax", "Clip",
            "Shrink", "BitwiseNot", "Not", "Trilu", "CumSum", "PRelu");
    private static final List<String> ARITHMETIC = List.of("Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift",
            "BitwiseAnd", "BitwiseOr", "BitwiseXor", "And", "Or", "Xor", "Min", "Max", "Sum", "Mean");
    private static final List<String> COMPARISON = List.of("Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual");

    static void register(Map<String, ShapeRule> rules) {
        for (String op : UNARY) {
            rules.put(op, ctx -> ctx.set(ctx.elemType(0), ctx.shape(0)));
        }
        rules.put("Identity", ctx -> {
            ctx.setType(0, ctx.type(0));
            ctx.setInts(0, ctx.ints(0));
        });
        rules.put("Bernoulli", ctx -> {
            long dtype = ctx.intAttr("dtype", 0);
            ctx.set(dtype == 0 ? ctx.elemType(0) : DataType.fromCode((int) dtype).orElse(null), ctx.shape(0));
        });
        rules.put("Det", ctx -> {
            Shape s = ctx.shape(0);
            ctx.set(ctx.elemType(0), s == null || s.rank() < 2 ? null : Shape.of(s.dims().subList(0, s.rank() - 2)));
        });
        rules.put("IsNaN", ctx -> ctx.set(DataType.BOOL, ctx.shape(0)));
        rules.put("IsInf", ctx -> ctx.set(DataType.BOOL, ctx.shape(0)));
        rules.put("Dropout", ctx -> {
            ctx.set(ctx.elemType(0), ctx.shape(0));
            ctx.set(1, DataType.BOOL, ctx.shape(0));
        });
        for (String op : ARITHMETIC) {
            rules.put(op, ctx -> {
                ctx.set(ctx.elemType(0), broadcastAll(ctx, 0));
                evaluate(ctx, op);
            });
        }
        for (String op : COMPARISON) {
            rules.put(op, ctx -> {
                ctx.set(DataType.BOOL, broadcastAll(ctx, 0));
                if (op.equals("Equal")) {
                    evaluate(ctx, op);
                }
            });
        }
        rules.put("Where", ctx -> {
            ctx.set(ctx.elemType(1) != null ? ctx.elemType(1) : ctx.elemType(2), broadcastAll(ctx, 0));
            IntVector c = ctx.ints(0);
            IntVector a = ctx.ints(1);
            IntVector b = ctx.ints(2);
            if (c != null && a != null && b != null && c.isKnown()) {
                ctx.setInts(0, where(c, a, b));
            }
        });
    }

    /** @return the broadcast shape of inputs {@code from..}, or null if a rank is unknown */
    static Shape broadcastAll(NodeContext ctx, int from) {
        Shape out = null;
        for (int i = from; i < ctx.inputCount(); i++) {
            if (!ctx.has(i)) {
                continue;
            }
            Shape s = ctx.shape(i);
            if (s == null) {
                return null;
            }
            out = out == null ? s : Dims.broadcast(out, s);
        }
        return out;
    }

    private static void evaluate(NodeContext ctx, String op) {
        if (ctx.inputCount() != 2) {
            return;
        }
        IntVector a = ctx.ints(0);
        IntVector b = ctx.ints(1);
        if (a == null || b == null) {
            return;
        }
        BinaryOperator<Dim> f = switch (op) {
            case "Add" -> Dims::add;
            case "Sub" -> Dims::sub;
            case "Mul" -> Dims::mul;
            case "Div" -> Dims::div;
            case "Equal" -> ElementwiseRules::equal;
            default -> null;
        };
        if (f != null) {
            ctx.setInts(0, zip(a, b, f));
        }
    }

    /**
     * Equal on shape values. A symbolic entry is a size (it comes from a Shape), so it is never
     * negative: PyTorch's {@code expand(b, -1, -1)} exports as {@code Where(Equal(shape, -1), 1,
     * shape)}, and knowing {@code batch == -1} is false keeps the batch through the Expand.
     */
    private static Dim equal(Dim x, Dim y) {
        if (x.isKnown() && y.isKnown()) {
            return Dim.of(x.value() == y.value() ? 1 : 0);
        }
        if (x.isSymbolic() && y.isSymbolic()) {
            return x.equals(y) ? Dim.of(1) : Dim.unknown();
        }
        Dim known = x.isKnown() ? x : y;
        Dim other = x.isKnown() ? y : x;
        return other.isSymbolic() && known.isKnown() && known.value() < 0 ? Dim.of(0) : Dim.unknown();
    }

    /** Elementwise on two vectors with scalar/1-element broadcasting; null when sizes do not match. */
    static IntVector zip(IntVector a, IntVector b, BinaryOperator<Dim> f) {
        int n = Math.max(a.size(), b.size());
        if ((a.size() != n && a.size() != 1) || (b.size() != n && b.size() != 1)) {
            return null;
        }
        List<Dim> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(f.apply(a.get(a.size() == 1 ? 0 : i), b.get(b.size() == 1 ? 0 : i)));
        }
        return new IntVector(out, a.scalar() && b.scalar());
    }

    private static IntVector where(IntVector c, IntVector a, IntVector b) {
        int n = Math.max(c.size(), Math.max(a.size(), b.size()));
        for (IntVector v : List.of(c, a, b)) {
            if (v.size() != n && v.size() != 1) {
                return null;
            }
        }
        List<Dim> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            boolean cond = c.get(c.size() == 1 ? 0 : i).value() != 0;
            IntVector pick = cond ? a : b;
            out.add(pick.get(pick.size() == 1 ? 0 : i));
        }
        return new IntVector(out, c.scalar() && a.scalar() && b.scalar());
    }
}
