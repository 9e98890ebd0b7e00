package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Ops that move data without computing on it: Reshape, Transpose, Concat, Split, Slice, Gather,
 * GatherElements, GatherND, Squeeze, Unsqueeze, Flatten, Expand, Tile, Pad, DepthToSpace,
 * SpaceToDepth, the scatters, and the sampling ops GridSample and RoiAlign. They read their constant inputs (targets, axes, starts/ends, repeats, pads) and,
 * where the data is a known small integer vector, compute the result too.
 */
final class DataMovementRules {
    private DataMovementRules() {
    }

    static void register(Map<String, ShapeRule> rules) {
        rules.put("Reshape", DataMovementRules::reshape);
        rules.put("Transpose", DataMovementRules::transpose);
        rules.put("Concat", DataMovementRules::concat);
        rules.put("Split", DataMovementRules::split);
        rules.put("Slice", DataMovementRules::slice);
        rules.put("Gather", DataMovementRules::gather);
        rules.put("GatherElements", ctx -> ctx.set(ctx.elemType(0), ctx.shape(1)));
        rules.put("Squeeze", DataMovementRules::squeeze);
        rules.put("Unsqueeze", DataMovementRules::unsqueeze);
        rules.put("Flatten", DataMovementRules::flatten);
        rules.put("Expand", DataMovementRules::expand);
        rules.put("Tile", DataMovementRules::tile);
        rules.put("Pad", DataMovementRules::pad);
        rules.put("DepthToSpace", ctx -> blocks(ctx, true));
        rules.put("SpaceToDepth", ctx -> blocks(ctx, false));
        rules.put("GatherND", DataMovementRules::gatherNd);
        rules.put("GridSample", ctx -> {
            Shape x = ctx.shape(0);
            Shape grid = ctx.shape(1);
            if (x != null && grid != null && grid.rank() >= 3) {
                List<Dim> out = new ArrayList<>(x.dims().subList(0, 2));
                out.addAll(grid.dims().subList(1, grid.rank() - 1));
                ctx.set(ctx.elemType(0), Shape.of(out));
            } else {
                ctx.set(ctx.elemType(0), null);
            }
        });
        rules.put("RoiAlign", ctx -> {
            Shape x = ctx.shape(0);
            Shape rois = ctx.shape(1);
            ctx.set(ctx.elemType(0), x == null || rois == null ? null : Shape.of(List.of(rois.dim(0), x.dim(1),
                    Dim.of(ctx.intAttr("output_height", 1)), Dim.of(ctx.intAttr("output_width", 1)))));
        });
        for (String op : List.of("ScatterND", "ScatterElements", "Scatter", "ReverseSequence")) {
            rules.put(op, ctx -> ctx.set(ctx.elemType(0), ctx.shape(0)));
        }
    }

    private static void reshape(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        IntVector target = ctx.opset() >= 5 ? ctx.ints(1) : vectorAttr(ctx, "shape");
        if (target == null) {
            Shape ts = ctx.opset() >= 5 ? ctx.shape(1) : null;
            ctx.set(type, ts != null && ts.rank() == 1 && ts.dim(0).isKnown() ? Dims.unknownDims((int) ts.dim(0).value()) : null);
            return;
        }
        Shape in = ctx.shape(0);
        boolean allowZero = ctx.opset() >= 14 && ctx.intAttr("allowzero", 0) != 0;
        List<Dim> out = new ArrayList<>();
        int inferred = -1;
        for (int i = 0; i < target.size(); i++) {
            Dim d = target.get(i);
            if (d.isKnown() && d.value() == 0 && !allowZero) {
                out.add(in != null && i < in.rank() ? in.dim(i) : Dim.unknown());
            } else if (d.isKnown() && d.value() == -1) {
                inferred = i;
                out.add(Dim.unknown());
            } else {
                out.add(d);
            }
        }
        if (inferred >= 0 && in != null) {
            out.set(inferred, solve(in.dims(), out, inferred));
        }
        ctx.set(type, Shape.of(out));
        // A shape value reshaped to a vector or a scalar keeps its entries (PyTorch's expand
        // exports Reshape(Concat(b, -1, -1), [-1]) before comparing it with -1).
        IntVector values = ctx.ints(0);
        if (values != null && out.size() <= 1 && (out.isEmpty() ? values.size() == 1
                : out.getFirst().isKnown() && out.getFirst().value() == values.size())) {
            ctx.setInts(0, new IntVector(values.values(), out.isEmpty()));
        }
    }

    /**
     * The -1 entry of a Reshape target: the input's elements over the product of the other entries,
     * with dims read as products so symbols cancel. So {@code [batch, 197, 768] -> [batch, 197, 12,
     * -1]} gives 64, {@code [batch, 64, 4, 4] -> [-1, 64, 16]} gives {@code batch}, and MobileViT's
     * unfold {@code [batch, 2, 2, 7, 7, 48] -> [-1, 49, 48]} gives {@code 4*batch}.
     */
    private static Dim solve(List<Dim> input, List<Dim> target, int skip) {
        DimProduct elements = new DimProduct(1, List.of());
        for (Dim d : input) {
            DimProduct p = DimProduct.of(d);
            if (p == null) {
                return Dim.unknown();
            }
            elements = elements.times(p);
        }
        DimProduct others = new DimProduct(1, List.of());
        for (int i = 0; i < target.size(); i++) {
            DimProduct p = i == skip ? null : DimProduct.of(target.get(i));
            if (i != skip && p == null) {
                return Dim.unknown();
            }
            if (p != null) {
                others = others.times(p);
            }
        }
        DimProduct answer = elements.dividedBy(others);
        return answer == null ? Dim.unknown() : answer.toDim();
    }

    private static IntVector vectorAttr(NodeContext ctx, String name) {
        long[] v = ctx.intsAttr(name);
        return v == null ? null : IntVector.of(v);
    }

    private static void transpose(NodeContext ctx) {
        Shape in = ctx.shape(0);
        if (in == null) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        long[] perm = ctx.intsAttr("perm");
        List<Dim> out = new ArrayList<>();
        for (int i = 0; i < in.rank(); i++) {
            out.add(in.dim(perm == null ? in.rank() - 1 - i : Dims.axis(perm[i], in.rank())));
        }
        ctx.set(ctx.elemType(0), Shape.of(out));
    }

    private static void concat(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        long axisAttr = ctx.intAttr("axis", 0);
        List<Dim> out = null;
        int axis = 0;
        for (int i = 0; i < ctx.inputCount(); i++) {
            Shape s = ctx.shape(i);
            if (s == null) {
                ctx.set(type, out == null ? null : Dims.unknownDims(out.size()));
                return;
            }
            if (out == null) {
                axis = Dims.axis(axisAttr, s.rank());
                out = NodeContext.dims(s);
            } else {
                if (s.rank() != out.size()) {
                    throw new IllegalArgumentException("inputs of rank " + out.size() + " and " + s.rank());
                }
                for (int k = 0; k < out.size(); k++) {
                    out.set(k, k == axis ? Dims.add(out.get(k), s.dim(k)) : Dims.merge(out.get(k), s.dim(k)));
                }
            }
        }
        ctx.set(type, out == null ? null : Shape.of(out));
        List<Dim> values = new ArrayList<>();
        for (int i = 0; i < ctx.inputCount(); i++) {
            IntVector v = ctx.ints(i);
            if (v == null || v.scalar()) {
                return;
            }
            values.addAll(v.values());
        }
        ctx.setInts(0, new IntVector(values, false));
    }

    private static void split(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        Shape in = ctx.shape(0);
        int n = ctx.outputCount();
        if (in == null) {
            for (int i = 0; i < n; i++) {
                ctx.set(i, type, null);
            }
            return;
        }
        int axis = Dims.axis(ctx.intAttr("axis", 0), in.rank());
        boolean sizesAsInput = (ctx.opset() >= 13 || ctx.opset() < 2) && ctx.has(1);
        long[] sizes = sizesAsInput ? ctx.longs(1) : ctx.intsAttr("split");
        boolean equalParts = sizes == null && !sizesAsInput;
        Dim total = in.dim(axis);
        for (int i = 0; i < n; i++) {
            Dim d = Dim.unknown();
            if (sizes != null && i < sizes.length) {
                d = Dim.of(sizes[i]);
            } else if (equalParts && total.isKnown()) {
                long chunk = (total.value() + n - 1) / n; // opset 18 num_outputs: last chunk may be smaller
                d = Dim.of(i < n - 1 ? chunk : total.value() - chunk * (n - 1));
            }
            List<Dim> dims = NodeContext.dims(in);
            dims.set(axis, d);
            ctx.set(i, type, Shape.of(dims));
        }
    }

    private static void slice(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        Shape in = ctx.shape(0);
        long[] starts;
        long[] ends;
        long[] axes;
        long[] steps = null;
        if (ctx.opset() < 10) {
            starts = ctx.intsAttr("starts");
            ends = ctx.intsAttr("ends");
            axes = ctx.intsAttr("axes");
        } else {
            starts = ctx.longs(1);
            ends = ctx.longs(2);
            axes = ctx.has(3) ? ctx.longs(3) : null;
            if (ctx.has(4)) {
                steps = ctx.longs(4);
                if (steps == null) {
                    starts = null;
                }
            }
            if (ctx.has(3) && axes == null) {
                starts = null;
            }
        }
        if (in == null) {
            ctx.set(type, null);
            return;
        }
        List<Dim> out = NodeContext.dims(in);
        if (starts == null || ends == null) {
            for (int k = 0; k < out.size(); k++) {
                if (axes == null || contains(axes, k, in.rank())) {
                    out.set(k, Dim.unknown());
                }
            }
            ctx.set(type, Shape.of(out));
            return;
        }
        IntVector data = ctx.ints(0);
        List<Dim> values = data != null && !data.scalar() ? new ArrayList<>(data.values()) : null;
        for (int j = 0; j < starts.length; j++) {
            int axis = Dims.axis(axes == null ? j : axes[j], in.rank());
            long step = steps == null ? 1 : steps[j];
            Dim d = in.dim(axis);
            if (d.isKnown()) {
                long[] range = sliceRange(starts[j], ends[j], step, d.value());
                long len = range[2];
                out.set(axis, Dim.of(len));
                if (values != null && axis == 0) {
                    List<Dim> picked = new ArrayList<>();
                    for (long i = 0; i < len; i++) {
                        picked.add(values.get((int) (range[0] + i * step)));
                    }
                    values = picked;
                }
            } else {
                boolean whole = step == 1 && starts[j] == 0 && ends[j] >= Integer.MAX_VALUE;
                out.set(axis, whole ? d : Dim.unknown());
                values = null;
            }
        }
        ctx.set(type, Shape.of(out));
        if (values != null) {
            ctx.setInts(0, new IntVector(values, false));
        }
    }

    /** @return {start, end, length} of a slice of a dim of size {@code dim}, clamped as ONNX does */
    static long[] sliceRange(long start, long end, long step, long dim) {
        if (step == 0) {
            throw new IllegalArgumentException("slice step is 0");
        }
        long s = start < 0 ? start + dim : start;
        long e = end < 0 ? end + dim : end;
        long len;
        if (step > 0) {
            s = Math.max(0, Math.min(dim, s));
            e = Math.max(0, Math.min(dim, e));
            len = e > s ? (e - s + step - 1) / step : 0;
        } else {
            s = Math.max(-1, Math.min(dim - 1, s));
            e = Math.max(-1, Math.min(dim - 1, e));
            len = s > e ? (s - e + (-step) - 1) / (-step) : 0;
        }
        return new long[] {s, e, len};
    }

    private static boolean contains(long[] axes, int k, int rank) {
        for (long a : axes) {
            if (Dims.axis(a, rank) == k) {
                return true;
            }
        }
        return false;
    }

    private static void gather(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        Shape data = ctx.shape(0);
        Shape indices = ctx.shape(1);
        if (data == null || indices == null) {
            ctx.set(type, null);
            return;
        }
        int axis = Dims.axis(ctx.intAttr("axis", 0), data.rank());
        List<Dim> out = new ArrayList<>(data.dims().subList(0, axis));
        out.addAll(indices.dims());
        out.addAll(data.dims().subList(axis + 1, data.rank()));
        ctx.set(type, Shape.of(out));
        IntVector values = ctx.ints(0);
        IntVector idx = ctx.ints(1);
        if (values != null && !values.scalar() && idx != null && idx.isKnown() && axis == 0) {
            List<Dim> picked = new ArrayList<>();
            for (long i : idx.longs()) {
                long k = i < 0 ? i + values.size() : i;
                if (k < 0 || k >= values.size()) {
                    throw new IllegalArgumentException("index " + i + " out of range for " + values.size() + " values");
                }
                picked.add(values.get((int) k));
            }
            ctx.setInts(0, new IntVector(picked, idx.scalar()));
        }
    }

    private static void gatherNd(NodeContext ctx) {
        Shape data = ctx.shape(0);
        Shape indices = ctx.shape(1);
        if (data == null || indices == null || indices.rank() == 0 || !indices.dim(-1).isKnown()) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        int batch = (int) ctx.intAttr("batch_dims", 0);
        int k = (int) indices.dim(-1).value();
        List<Dim> out = new ArrayList<>(indices.dims().subList(0, indices.rank() - 1));
        out.addAll(data.dims().subList(batch + k, data.rank()));
        ctx.set(ctx.elemType(0), Shape.of(out));
    }

    /** @return the axes of Squeeze/Unsqueeze (attribute before opset 13, input after), or null */
    private static long[] axes(NodeContext ctx) {
        return ctx.opset() >= 13 ? (ctx.has(1) ? ctx.longs(1) : null) : ctx.intsAttr("axes");
    }

    private static void squeeze(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        Shape in = ctx.shape(0);
        boolean axesGiven = ctx.opset() >= 13 ? ctx.has(1) : ctx.attr("axes") != null;
        long[] axes = axes(ctx);
        if (in == null || (axesGiven && axes == null)) {
            ctx.set(type, null);
            return;
        }
        List<Dim> out = new ArrayList<>();
        for (int k = 0; k < in.rank(); k++) {
            Dim d = in.dim(k);
            boolean drop = axesGiven ? contains(axes, k, in.rank()) : d.isKnown() && d.value() == 1;
            if (!axesGiven && !d.isKnown()) {
                ctx.set(type, null); // an unknown dim may or may not be 1
                return;
            }
            if (!drop) {
                out.add(d);
            }
        }
        ctx.set(type, Shape.of(out));
        IntVector v = ctx.ints(0);
        if (v != null && !v.scalar() && v.size() == 1 && out.isEmpty()) {
            ctx.setInts(0, new IntVector(v.values(), true));
        }
    }

    private static void unsqueeze(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        Shape in = ctx.shape(0);
        long[] axes = axes(ctx);
        if (in == null || axes == null) {
            ctx.set(type, null);
            return;
        }
        int rank = in.rank() + axes.length;
        boolean[] inserted = new boolean[rank];
        for (long a : axes) {
            inserted[Dims.axis(a, rank)] = true;
        }
        List<Dim> out = new ArrayList<>();
        int next = 0;
        for (int k = 0; k < rank; k++) {
            out.add(inserted[k] ? Dim.of(1) : in.dim(next++));
        }
        ctx.set(type, Shape.of(out));
        IntVector v = ctx.ints(0);
        if (v != null && v.scalar() && rank == 1) {
            ctx.setInts(0, new IntVector(v.values(), false));
        }
    }

    private static void flatten(NodeContext ctx) {
        Shape in = ctx.shape(0);
        if (in == null) {
            ctx.set(ctx.elemType(0), Dims.unknownDims(2));
            return;
        }
        long a = ctx.intAttr("axis", 1);
        int axis = (int) (a < 0 ? a + in.rank() : a);
        ctx.set(ctx.elemType(0), Shape.of(List.of(Dims.product(in.dims().subList(0, axis)),
                Dims.product(in.dims().subList(axis, in.rank())))));
    }

    private static void expand(NodeContext ctx) {
        DataType type = ctx.elemType(0);
        Shape in = ctx.shape(0);
        IntVector target = ctx.ints(1);
        if (in == null) {
            ctx.set(type, null);
            return;
        }
        if (target == null) {
            Shape ts = ctx.shape(1);
            ctx.set(type, ts != null && ts.dim(0).isKnown()
                    ? Dims.unknownDims((int) Math.max(in.rank(), ts.dim(0).value())) : null);
            return;
        }
        ctx.set(type, Dims.broadcast(in, Shape.of(target.values())));
    }

    private static void tile(NodeContext ctx) {
        Shape in = ctx.shape(0);
        IntVector repeats = ctx.ints(1);
        if (in == null) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        List<Dim> out = NodeContext.dims(in);
        for (int k = 0; k < out.size(); k++) {
            out.set(k, repeats == null ? Dim.unknown() : Dims.mul(out.get(k), repeats.get(k)));
        }
        ctx.set(ctx.elemType(0), Shape.of(out));
    }

    private static void pad(NodeContext ctx) {
        Shape in = ctx.shape(0);
        if (in == null) {
            ctx.set(ctx.elemType(0), null);
            return;
        }
        long[] pads = ctx.opset() >= 11 ? ctx.longs(1) : ctx.intsAttr(ctx.opset() >= 2 ? "pads" : "paddings");
        long[] axes = null;
        if (ctx.opset() >= 18 && ctx.has(3)) {
            axes = ctx.longs(3);
            if (axes == null) {
                pads = null;
            }
        }
        List<Dim> out = NodeContext.dims(in);
        if (pads == null) {
            ctx.set(ctx.elemType(0), Dims.unknownDims(in.rank()));
            return;
        }
        int n = pads.length / 2;
        for (int j = 0; j < n; j++) {
            int axis = axes == null ? j : Dims.axis(axes[j], in.rank());
            out.set(axis, Dims.add(out.get(axis), Dim.of(pads[j] + pads[j + n])));
        }
        ctx.set(ctx.elemType(0), Shape.of(out));
    }

    private static void blocks(NodeContext ctx, boolean toSpace) {
        Shape in = ctx.shape(0);
        long b = ctx.intAttr("blocksize", 1);
        if (in == null || in.rank() != 4) {
            ctx.set(ctx.elemType(0), in == null ? null : Dims.unknownDims(in.rank()));
            return;
        }
        Dim bb = Dim.of(b * b);
        Dim blk = Dim.of(b);
        List<Dim> out = Arrays.asList(in.dim(0),
                toSpace ? Dims.div(in.dim(1), bb) : Dims.mul(in.dim(1), bb),
                toSpace ? Dims.mul(in.dim(2), blk) : Dims.div(in.dim(2), blk),
                toSpace ? Dims.mul(in.dim(3), blk) : Dims.div(in.dim(3), blk));
        ctx.set(ctx.elemType(0), Shape.of(out));
    }
}
