package dev.slimnx.graph.infer;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.ConstantNode;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Ops that make or describe values rather than move data: Shape, Size, Constant, ConstantOfShape,
 * Range, Cast, CastLike, EyeLike, NonZero. Shape and Size also record their output as an
 * {@link IntVector} so that the chains built on them stay symbolic.
 */
final class ShapeValueRules {
    private ShapeValueRules() {
    }

    static void register(Map<String, ShapeRule> rules) {
        rules.put("Shape", ShapeValueRules::shape);
        rules.put("Size", ctx -> {
            ctx.set(DataType.INT64, Shape.of());
            Shape s = ctx.shape(0);
            if (s != null) {
                ctx.setInts(0, new IntVector(List.of(Dims.product(s.dims())), true));
            }
        });
        rules.put("Constant", ctx -> {
            Tensor t = ConstantNode.valueOf(ctx.node());
            if (t != null) {
                ctx.set(t.dataType(), t.shape());
            }
        });
        rules.put("ConstantOfShape", ShapeValueRules::constantOfShape);
        rules.put("Range", ShapeValueRules::range);
        rules.put("Cast", ctx -> {
            DataType to = DataType.fromCode((int) ctx.intAttr("to", 0)).orElse(null);
            ctx.set(to, ctx.shape(0));
            if (to != null && to.isInteger()) {
                ctx.setInts(0, ctx.ints(0));
            }
        });
        rules.put("CastLike", ctx -> {
            ctx.set(ctx.elemType(1), ctx.shape(0));
            DataType to = ctx.elemType(1);
            if (to != null && to.isInteger()) {
                ctx.setInts(0, ctx.ints(0));
            }
        });
        rules.put("EyeLike", ctx -> {
            long dtype = ctx.intAttr("dtype", 0);
            ctx.set(dtype == 0 ? ctx.elemType(0) : DataType.fromCode((int) dtype).orElse(null), ctx.shape(0));
        });
        rules.put("NonZero", ctx -> {
            int r = ctx.rank(0);
            ctx.set(DataType.INT64, r < 0 ? null : Shape.of(List.of(Dim.of(r), Dim.unknown())));
        });
    }

    private static void shape(NodeContext ctx) {
        Shape s = ctx.shape(0);
        if (s == null) {
            ctx.set(DataType.INT64, Dims.unknownDims(1));
            return;
        }
        int r = s.rank();
        long start = ctx.opset() >= 15 ? ctx.intAttr("start", 0) : 0;
        long end = ctx.opset() >= 15 ? ctx.intAttr("end", r) : r;
        start = clamp(start < 0 ? start + r : start, r);
        end = clamp(end < 0 ? end + r : end, r);
        List<Dim> dims = end > start ? s.dims().subList((int) start, (int) end) : List.of();
        ctx.set(DataType.INT64, Shape.of(dims.size()));
        ctx.setInts(0, new IntVector(dims, false));
    }

    private static long clamp(long x, int r) {
        return Math.max(0, Math.min(r, x));
    }

    private static void constantOfShape(NodeContext ctx) {
        Attribute value = ctx.attr("value");
        Tensor fill = value == null ? null : value.asTensor();
        DataType type = fill == null ? DataType.FLOAT : fill.dataType();
        IntVector shape = ctx.ints(0);
        if (shape == null) {
            Shape s = ctx.shape(0);
            ctx.set(type, s != null && s.rank() == 1 && s.dim(0).isKnown() ? Dims.unknownDims((int) s.dim(0).value()) : null);
            return;
        }
        ctx.set(type, Shape.of(shape.values()));
        if (shape.size() == 1 && shape.get(0).isKnown() && shape.get(0).value() <= NodeContext.MAX_VECTOR
                && (type.isInteger() || type == DataType.BOOL)) {
            long v = fill == null ? 0 : fill.toLongArray()[0];
            ctx.setInts(0, new IntVector(Collections.nCopies((int) shape.get(0).value(), Dim.of(v)), false));
        }
    }

    private static void range(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        float[] start = ctx.floats(0);
        float[] limit = ctx.floats(1);
        float[] delta = ctx.floats(2);
        IntVector si = ctx.ints(0);
        IntVector li = ctx.ints(1);
        IntVector di = ctx.ints(2);
        if (si != null && li != null && di != null && si.isKnown() && li.isKnown() && di.isKnown()) {
            long s = si.get(0).value();
            long l = li.get(0).value();
            long d = di.get(0).value();
            long n = Math.max(0, (long) Math.ceil((double) (l - s) / d));
            ctx.set(type, Shape.of(n));
            if (n <= NodeContext.MAX_VECTOR) {
                List<Dim> values = new ArrayList<>();
                for (long i = 0; i < n; i++) {
                    values.add(Dim.of(s + i * d));
                }
                ctx.setInts(0, new IntVector(values, false));
            }
        } else if (start != null && limit != null && delta != null) {
            ctx.set(type, Shape.of(Math.max(0, (long) Math.ceil(((double) limit[0] - start[0]) / delta[0]))));
        } else {
            ctx.set(type, Dims.unknownDims(1));
        }
    }
}
