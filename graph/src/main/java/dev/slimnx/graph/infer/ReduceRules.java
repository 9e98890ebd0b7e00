package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reductions along axes: Reduce* (axes as an attribute before opset 18, as an input from 18;
 * ReduceSum from 13), ArgMax, ArgMin and TopK.
 */
final class ReduceRules {
    private ReduceRules() {
    }

    private static final List<String> REDUCE = List.of("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
            "ReduceProd", "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");

    static void register(Map<String, ShapeRule> rules) {
        for (String op : REDUCE) {
            rules.put(op, ReduceRules::reduce);
        }
        rules.put("ArgMax", ReduceRules::argReduce);
        rules.put("ArgMin", ReduceRules::argReduce);
        rules.put("TopK", ReduceRules::topK);
    }

    private static void reduce(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        Shape in = ctx.shape(0);
        boolean keep = ctx.intAttr("keepdims", 1) != 0;
        boolean axesAsInput = ctx.opset() >= (ctx.node().opType().equals("ReduceSum") ? 13 : 18);
        long[] axes = axesAsInput ? (ctx.has(1) ? ctx.longs(1) : new long[0]) : ctx.intsAttr("axes");
        if (in == null) {
            ctx.set(type, null);
            return;
        }
        if (axes == null && axesAsInput) {
            ctx.set(type, keep ? Dims.unknownDims(in.rank()) : null);
            return;
        }
        if (axes != null && axes.length == 0) {
            if (axesAsInput && ctx.intAttr("noop_with_empty_axes", 0) != 0) {
                ctx.set(type, in);
                return;
            }
            axes = null;
        }
        ctx.set(type, reduced(in, axes, keep));
    }

    /** @return {@code in} with {@code axes} (all when null) removed or set to 1 */
    static Shape reduced(Shape in, long[] axes, boolean keep) {
        boolean[] hit = new boolean[in.rank()];
        if (axes == null) {
            java.util.Arrays.fill(hit, true);
        } else {
            for (long a : axes) {
                hit[Dims.axis(a, in.rank())] = true;
            }
        }
        List<Dim> out = new ArrayList<>();
        for (int k = 0; k < in.rank(); k++) {
            if (!hit[k]) {
                out.add(in.dim(k));
            } else if (keep) {
                out.add(Dim.of(1));
            }
        }
        return Shape.of(out);
    }

    private static void argReduce(NodeContext ctx) {
        Shape in = ctx.shape(0);
        if (in == null) {
            ctx.set(DataType.INT64, null);
            return;
        }
        long axis = ctx.intAttr("axis", 0);
        ctx.set(DataType.INT64, reduced(in, new long[] {axis}, ctx.intAttr("keepdims", 1) != 0));
    }

    private static void topK(NodeContext ctx) {
        Shape in = ctx.shape(0);
        if (in == null) {
            ctx.set(0, ctx.elemType(0), null);
            ctx.set(1, DataType.INT64, null);
            return;
        }
        int axis = Dims.axis(ctx.intAttr("axis", -1), in.rank());
        Dim k = Dim.unknown();
        if (ctx.opset() < 10) {
            k = Dim.of(ctx.intAttr("k", 0));
        } else {
            IntVector kv = ctx.ints(1);
            if (kv != null && kv.size() == 1) {
                k = kv.get(0);
            }
        }
        List<Dim> out = NodeContext.dims(in);
        out.set(axis, k);
        ctx.set(0, ctx.elemType(0), Shape.of(out));
        ctx.set(1, DataType.INT64, Shape.of(out));
    }
}
