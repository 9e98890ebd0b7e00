package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import java.util.Map;
import java.util.TreeSet;

/**
 * Ops that move elements without computing: the channel axis is renumbered, merged or split
 * (Transpose, Reshape, Flatten, Squeeze, Unsqueeze), offset (Concat, Split, Slice on the channel
 * axis) or passed along untouched (Concat, Split, Slice and Gather on other axes).
 *
 * <ul>
 *   <li><b>Reshape</b> follows {@link ReshapeMapping}; its target must be constant, and the entry
 *       of the channel axis must be -1, a copy (0) of the same input axis, or the old length,
 *       which pruning rewrites. Flatten has nothing to rewrite.</li>
 *   <li><b>Concat</b> on the channel axis: input i's channels sit at the offset of the inputs
 *       before it; from the output, the group must lie within one input.</li>
 *   <li><b>Split</b> and <b>Slice</b> on the channel axis: the group must lie within one output
 *       (one slice), or (Slice) wholly outside it, and no bound may cut through it; the sizes or
 *       bounds are rewritten, since removing channels moves every position after them. Slices
 *       must have step 1 on that axis and constant bounds.</li>
 *   <li><b>Gather</b> on another axis passes the channels to the matching output axis; on the
 *       channel axis it is refused (the indices would have to be re-mapped).</li>
 * </ul>
 */
final class LayoutChannels {
    private LayoutChannels() {
    }

    static void register(Map<String, ChannelHandler> handlers) {
        handlers.put("Transpose", LayoutChannels::transpose);
        handlers.put("Reshape", LayoutChannels::reshape);
        handlers.put("Flatten", LayoutChannels::flatten);
        handlers.put("Squeeze", LayoutChannels::squeeze);
        handlers.put("Unsqueeze", LayoutChannels::unsqueeze);
        handlers.put("Concat", LayoutChannels::concat);
        handlers.put("Split", LayoutChannels::split);
        handlers.put("Slice", LayoutChannels::slice);
        handlers.put("Gather", LayoutChannels::gather);
    }

    private static boolean refuseNonData(ChannelContext ctx) {
        if (ctx.atInput() && ctx.port() != 0) {
            ctx.refuse("the channels reach input " + ctx.port() + ", which is not the data");
            return true;
        }
        return false;
    }

    static void transpose(ChannelContext ctx) {
        if (refuseNonData(ctx)) {
            return;
        }
        Node n = ctx.node();
        int rank = ctx.rank(n.input(0));
        long[] perm = n.intsAttr("perm");
        if (perm == null) {
            perm = new long[rank];
            for (int i = 0; i < rank; i++) {
                perm[i] = rank - 1 - i;
            }
        }
        if (ctx.atInput()) {
            for (int j = 0; j < perm.length; j++) {
                if (perm[j] == ctx.axis()) {
                    ctx.input(0, ctx.axis(), ctx.map());
                    ctx.output(0, j, ctx.map());
                    return;
                }
            }
            ctx.refuse("its perm does not name axis " + ctx.axis());
        } else {
            ctx.input(0, (int) perm[ctx.axis()], ctx.map());
            ctx.output(0, ctx.axis(), ctx.map());
        }
    }

    /** The other side of a Reshape or Flatten, or null after refusing. */
    private static ReshapeMapping.Result across(ChannelContext ctx) {
        Node n = ctx.node();
        Shape in = ctx.shape(n.input(0));
        Shape out = ctx.shape(n.output(0));
        if (in == null || out == null) {
            ctx.refuse("the shape of its " + (in == null ? "input" : "output") + " is unknown");
            return null;
        }
        ReshapeMapping.Result r = ctx.atInput() ? ReshapeMapping.map(in, ctx.axis(), ctx.map(), ctx.width(), out)
                : ReshapeMapping.map(out, ctx.axis(), ctx.map(), ctx.width(), in);
        if (r.refusal() != null) {
            ctx.refuse(r.refusal());
            return null;
        }
        return r;
    }

    static void reshape(ChannelContext ctx) {
        if (refuseNonData(ctx)) {
            return;
        }
        Node n = ctx.node();
        Tensor target = ctx.constant(n.input(1));
        if (target == null) {
            ctx.refuse("its target shape is computed, not constant");
            return;
        }
        ReshapeMapping.Result r = across(ctx);
        if (r == null) {
            return;
        }
        int inAxis = ctx.atInput() ? ctx.axis() : r.axis();
        ChannelMap inMap = ctx.atInput() ? ctx.map() : r.map();
        int outAxis = ctx.atInput() ? r.axis() : ctx.axis();
        ChannelMap outMap = ctx.atInput() ? r.map() : ctx.map();
        long[] entries = target.toLongArray();
        long outLength = ctx.dim(n.output(0), outAxis);
        long entry = entries[outAxis];
        if (entry == 0 && n.intAttr("allowzero", 0) == 0) {
            if (inAxis != outAxis || !inMap.equals(outMap)) {
                ctx.refuse("its target copies (0) input axis " + outAxis + " where the channels land on another axis");
                return;
            }
        } else if (entry == outLength) {
            ctx.rewrites();
        } else if (entry != -1) {
            ctx.refuse("its target entry " + entry + " for the channel axis is not the axis length " + outLength);
            return;
        }
        ctx.input(0, inAxis, inMap);
        ctx.output(0, outAxis, outMap);
    }

    static void flatten(ChannelContext ctx) {
        ReshapeMapping.Result r = across(ctx);
        if (r == null) {
            return;
        }
        if (ctx.atInput()) {
            ctx.output(0, r.axis(), r.map());
        } else {
            ctx.input(0, r.axis(), r.map());
        }
    }

    /** Normalised axes of Squeeze/Unsqueeze, from input 1 (opset 13+) or the attribute, or null after refusing. */
    private static TreeSet<Integer> axes(ChannelContext ctx, int rank) {
        Node n = ctx.node();
        long[] given = ctx.opset() >= 13 ? ctx.ints(1, null) : n.intsAttr("axes");
        if (ctx.opset() >= 13 && n.input(1) != null && given == null) {
            ctx.refuse("its axes are computed, not constant");
            return null;
        }
        TreeSet<Integer> out = new TreeSet<>();
        if (given != null) {
            for (long a : given) {
                out.add(ChannelContext.normalize((int) a, rank));
            }
        }
        return out;
    }

    static void squeeze(ChannelContext ctx) {
        if (refuseNonData(ctx)) {
            return;
        }
        Node n = ctx.node();
        int rank = ctx.rank(n.input(0));
        TreeSet<Integer> axes = axes(ctx, rank);
        if (axes == null) {
            return;
        }
        if (axes.isEmpty()) {
            for (int i = 0; i < rank; i++) {
                if (ctx.dim(n.input(0), i) == 1) {
                    axes.add(i);
                } else if (ctx.dim(n.input(0), i) < 0) {
                    ctx.refuse("it squeezes every axis of size 1 and dim " + i + " is not known");
                    return;
                }
            }
        }
        int inAxis = ctx.atInput() ? ctx.axis() : nthOutside(axes, ctx.axis(), rank);
        if (axes.contains(inAxis)) {
            ctx.refuse("it squeezes the channel axis");
            return;
        }
        ctx.input(0, inAxis, ctx.map());
        ctx.output(0, inAxis - axes.headSet(inAxis).size(), ctx.map());
    }

    static void unsqueeze(ChannelContext ctx) {
        if (refuseNonData(ctx)) {
            return;
        }
        Node n = ctx.node();
        int outRank = ctx.rank(n.output(0));
        TreeSet<Integer> axes = axes(ctx, outRank);
        if (axes == null) {
            return;
        }
        int outAxis = ctx.atInput() ? nthOutside(axes, ctx.axis(), outRank) : ctx.axis();
        if (axes.contains(outAxis)) {
            ctx.refuse("the channels are on an inserted axis");
            return;
        }
        ctx.input(0, outAxis - axes.headSet(outAxis).size(), ctx.map());
        ctx.output(0, outAxis, ctx.map());
    }

    /** The index of the {@code n}-th axis in [0, rank) that is not in {@code axes}. */
    private static int nthOutside(TreeSet<Integer> axes, int n, int rank) {
        int seen = 0;
        for (int i = 0; i < rank; i++) {
            if (!axes.contains(i)) {
                if (seen == n) {
                    return i;
                }
                seen++;
            }
        }
        return -1;
    }

    static void concat(ChannelContext ctx) {
        Node n = ctx.node();
        int rank = ctx.rank(n.output(0));
        int axis = ChannelContext.normalize((int) n.intAttr("axis", 0), rank);
        if (ctx.axis() != axis) {
            for (int i = 0; i < n.inputs().size(); i++) {
                ctx.input(i, ctx.axis(), ctx.map());
            }
            ctx.output(0, ctx.axis(), ctx.map());
            return;
        }
        int offset = 0;
        for (int i = 0; i < n.inputs().size(); i++) {
            long len = ctx.dim(n.input(i), axis);
            if (len < 0) {
                ctx.refuse("the length of input " + i + " along the concatenated axis is unknown");
                return;
            }
            ChannelMap m = ctx.map();
            if (ctx.atInput() && ctx.port() == i) {
                ctx.output(0, axis, m.shift(offset));
                return;
            }
            if (!ctx.atInput() && m.offset() >= offset && m.end(ctx.width()) <= offset + len) {
                ctx.input(i, axis, m.shift(-offset));
                return;
            }
            offset += (int) len;
        }
        ctx.refuse("the channels span several of its inputs");
    }

    static void split(ChannelContext ctx) {
        if (refuseNonData(ctx)) {
            return;
        }
        Node n = ctx.node();
        Value in = n.input(0);
        int rank = ctx.rank(in);
        int axis = ChannelContext.normalize((int) n.intAttr("axis", 0), rank);
        if (ctx.axis() != axis) {
            ctx.input(0, ctx.axis(), ctx.map());
            for (int j = 0; j < n.outputs().size(); j++) {
                ctx.output(j, ctx.axis(), ctx.map());
            }
            return;
        }
        long[] sizes = splitSizes(ctx);
        if (sizes == null) {
            return;
        }
        ChannelMap m = ctx.map();
        int offset = 0;
        for (int j = 0; j < sizes.length; j++) {
            if (ctx.atInput() && m.offset() >= offset && m.end(ctx.width()) <= offset + sizes[j]) {
                ctx.output(j, axis, m.shift(-offset));
                ctx.rewrites();
                return;
            }
            if (!ctx.atInput() && ctx.port() == j) {
                ctx.input(0, axis, m.shift(offset));
                ctx.rewrites();
                return;
            }
            offset += (int) sizes[j];
        }
        ctx.refuse("the channels span several of its outputs");
    }

    /** The sizes of a Split's outputs along its axis, or null after refusing. */
    static long[] splitSizes(ChannelContext ctx) {
        Node n = ctx.node();
        long[] sizes = ctx.opset() >= 13 ? ctx.ints(1, null) : n.intsAttr("split");
        if (ctx.opset() >= 13 && n.input(1) != null && sizes == null) {
            ctx.refuse("its split sizes are computed, not constant");
            return null;
        }
        if (sizes == null) {
            int rank = ctx.rank(n.input(0));
            long length = ctx.dim(n.input(0), ChannelContext.normalize((int) n.intAttr("axis", 0), rank));
            int parts = n.outputs().size();
            if (length < 0 || length % parts != 0) {
                ctx.refuse("it splits an axis of length " + length + " into " + parts + " parts unevenly");
                return null;
            }
            sizes = new long[parts];
            java.util.Arrays.fill(sizes, length / parts);
        }
        return sizes;
    }

    /**
     * The bounds of a Slice along one data axis.
     *
     * @param index the entry in starts/ends/axes/steps, or -1 when the axis is not sliced
     * @param start normalised start in [0, length]
     * @param end normalised end in [0, length]
     * @param step the step
     */
    record SliceBounds(int index, long start, long end, long step) {
    }

    /**
     * @param ctx the context of a Slice node
     * @param axis a data axis
     * @param length its length
     * @return the bounds along it, or null after refusing (bounds not constant)
     */
    static SliceBounds sliceBounds(ChannelContext ctx, int axis, long length) {
        Node n = ctx.node();
        boolean inputs = ctx.opset() >= 10;
        long[] starts = inputs ? ctx.ints(1, null) : n.intsAttr("starts");
        long[] ends = inputs ? ctx.ints(2, null) : n.intsAttr("ends");
        long[] axes = inputs ? ctx.ints(3, null) : n.intsAttr("axes");
        long[] steps = inputs ? ctx.ints(4, null) : null;
        if (starts == null || ends == null || inputs && n.input(3) != null && axes == null
                || inputs && n.input(4) != null && steps == null) {
            ctx.refuse("its bounds are computed, not constant");
            return null;
        }
        int rank = ctx.rank(n.input(0));
        for (int k = 0; k < starts.length; k++) {
            int a = axes == null ? k : ChannelContext.normalize((int) axes[k], rank);
            if (a != axis) {
                continue;
            }
            long step = steps == null ? 1 : steps[k];
            long s = starts[k] < 0 ? starts[k] + length : starts[k];
            long e = ends[k] < 0 ? ends[k] + length : ends[k];
            s = Math.max(0, Math.min(length, s));
            e = Math.max(0, Math.min(length, e));
            return new SliceBounds(k, s, e, step);
        }
        return new SliceBounds(-1, 0, length, 1);
    }

    static void slice(ChannelContext ctx) {
        if (refuseNonData(ctx)) {
            return;
        }
        Node n = ctx.node();
        long length = ctx.atInput() ? ctx.length() : ctx.dim(n.input(0), ctx.axis());
        if (length < 0) {
            ctx.refuse("the length of the sliced axis is unknown");
            return;
        }
        SliceBounds b = sliceBounds(ctx, ctx.axis(), length);
        if (b == null) {
            return;
        }
        if (b.index() < 0) {
            ctx.input(0, ctx.axis(), ctx.map());
            ctx.output(0, ctx.axis(), ctx.map());
            return;
        }
        if (b.step() != 1) {
            ctx.refuse("it slices the channel axis with step " + b.step());
            return;
        }
        ChannelMap m = ctx.map();
        int width = ctx.width();
        if (!ctx.atInput()) {
            ctx.input(0, ctx.axis(), m.shift((int) b.start()));
            ctx.rewrites();
            return;
        }
        if (m.cuts((int) b.start(), width) || m.cuts((int) b.end(), width)) {
            ctx.refuse("its bounds [" + b.start() + ", " + b.end() + ") cut through the channels");
            return;
        }
        int inside = 0;
        for (int r = 0; r < m.repeats(); r++) {
            long first = m.offset() + (long) r * m.period();
            if (first >= b.start() && first + m.span(width) <= b.end()) {
                inside++;
            }
        }
        if (inside == m.repeats()) {
            ctx.output(0, ctx.axis(), m.shift((int) -b.start()));
        } else if (inside != 0) {
            ctx.refuse("it keeps some repeats of the channels and drops others");
            return;
        }
        ctx.rewrites();
    }

    static void gather(ChannelContext ctx) {
        Node n = ctx.node();
        if (ctx.atInput() && ctx.port() == 1) {
            ctx.refuse("the channels reach its indices");
            return;
        }
        int dataRank = ctx.rank(n.input(0));
        int indexRank = ctx.rank(n.input(1));
        if (dataRank < 0 || indexRank < 0) {
            ctx.refuse("the rank of an input is unknown");
            return;
        }
        int axis = ChannelContext.normalize((int) n.intAttr("axis", 0), dataRank);
        int dataAxis;
        if (ctx.atInput()) {
            dataAxis = ctx.axis();
        } else if (ctx.axis() < axis) {
            dataAxis = ctx.axis();
        } else if (ctx.axis() >= axis + indexRank) {
            dataAxis = ctx.axis() - indexRank + 1;
        } else {
            ctx.refuse("the channels are on the axes its indices add");
            return;
        }
        if (dataAxis == axis) {
            ctx.refuse("it gathers along the channel axis");
            return;
        }
        ctx.input(0, dataAxis, ctx.map());
        ctx.output(0, dataAxis < axis ? dataAxis : dataAxis + indexRank - 1, ctx.map());
    }
}
