package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Rules for ops that select or assemble parts of tensors.
 * <ul>
 *   <li>Concat: the gradient is split back into the inputs' sizes along the axis (constant sizes
 *       when known, else read from the inputs' shapes at run time).</li>
 *   <li>Split: each output's gradient is a slab of the input's (see {@link GradientContributions}:
 *       the slabs are concatenated back, zeros standing in for outputs that do not reach the
 *       loss); when the sizes are known only at run time, one Concat here.</li>
 *   <li>Slice (starts, ends, axes, steps known at build time: constants, or computed from static
 *       dims as PyTorch exports {@code x[:, :C // 2]}; sliced axes of known size): along one axis
 *       with step 1 the gradient is a slab of the input's; otherwise it is scattered into zeros.
 *       Axes with step 1 take one {@code Pad}; a strided axis takes a {@code Pad} of one zero slab
 *       and a {@code Gather} whose index for each input position is the position's place in the
 *       slice, or the zero slab when the slice skipped it.</li>
 *   <li>Gather: with a constant index, or a run of consecutive ones (the q, k and v of a fused
 *       projection, the class token), a slab of the data's gradient; with other distinct constant
 *       indices and the axis size known, the same inverse-index Gather; otherwise (repeated or
 *       computed indices: NaViT's position tables indexed by each patch's row and column) a
 *       {@code ScatterElements} into zeros with {@code reduction = add} (opset 16), which sums the
 *       gradients of repeated indices.</li>
 * </ul>
 */
final class IndexingRules {
    private IndexingRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("Concat", new ConcatRule());
        rules.put("Split", new SplitRule());
        rules.put("Slice", new SliceRule());
        rules.put("Gather", new GatherRule());
    }

    private static String ranksKnown(Node node, ForwardInfo info) {
        for (Value v : node.inputs()) {
            if (v != null && info.rank(v) < 0) {
                return "rank of '" + v.name() + "' unknown";
            }
        }
        for (Value v : node.outputs()) {
            if (!v.name().isEmpty() && info.rank(v) < 0) {
                return "rank of '" + v.name() + "' unknown";
            }
        }
        return null;
    }

    /** {@code Pad} with zeros: {@code before[a]} and {@code after[a]} elements on each axis. */
    private static Value pad(BackwardContext c, Value x, long[] before, long[] after) {
        long[] pads = new long[before.length * 2];
        System.arraycopy(before, 0, pads, 0, before.length);
        System.arraycopy(after, 0, pads, before.length, after.length);
        return c.emit().op("Pad", x, c.emit().longs(pads));
    }

    /**
     * Places {@code g}, whose {@code axis} holds the positions {@code picked} of an axis of size
     * {@code size} (distinct, in [0, size)), at those positions of zeros: a zero slab is padded on
     * and an index per output position gathers from the gradient or from the slab.
     */
    private static Value scatterDistinct(BackwardContext c, Value g, int rank, int axis, long[] picked, long size) {
        long[] before = new long[rank];
        long[] after = new long[rank];
        after[axis] = 1;
        Value padded = pad(c, g, before, after);
        long[] inverse = new long[Math.toIntExact(size)];
        Arrays.fill(inverse, picked.length);
        for (int j = 0; j < picked.length; j++) {
            inverse[(int) picked[j]] = j;
        }
        return c.emit().op("Gather", List.of(padded, c.emit().longs(inverse)), Attribute.ofInt("axis", axis));
    }

    private static final class ConcatRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return ranksKnown(node, info);
        }

        @Override
        public void emit(BackwardContext c) {
            Node n = c.node();
            int rank = c.shape(c.out(0)).rank();
            int axis = ForwardInfo.normalizeAxis(n.intAttr("axis", 0), rank);
            GraphEmitter e = c.emit();
            int count = n.inputs().size();
            long[] sizes = new long[count];
            boolean known = true;
            for (int i = 0; i < count; i++) {
                Dim d = c.shape(c.in(i)).dim(axis);
                known &= d.isKnown();
                sizes[i] = d.isKnown() ? d.value() : -1;
            }
            Value split;
            if (known) {
                split = e.longs(sizes);
            } else {
                List<Value> parts = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    parts.add(e.sizeAlong(c.in(i), axis, c.shape(c.in(i)).dim(axis)));
                }
                split = e.op("Concat", parts, Attribute.ofInt("axis", 0));
            }
            List<Value> grads = e.ops("Split", count, List.of(c.outputGrad(0), split), Attribute.ofInt("axis", axis));
            for (int i = 0; i < count; i++) {
                c.addInputGrad(i, grads.get(i));
            }
        }
    }

    private static final class SplitRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            return ranksKnown(node, info);
        }

        @Override
        public void emit(BackwardContext c) {
            Node n = c.node();
            int axis = ForwardInfo.normalizeAxis(n.intAttr("axis", 0), c.shape(c.in(0)).rank());
            long[] sizes = new long[n.outputs().size()];
            boolean known = c.slabsAllowed(0, axis);
            for (int i = 0; i < sizes.length && known; i++) {
                Dim d = c.shape(c.out(i)).dim(axis);
                known = d.isKnown();
                sizes[i] = known ? d.value() : -1;
            }
            if (known) {
                // each output's gradient is a slab of the input's; outputs without one leave zeros
                long at = 0;
                for (int i = 0; i < sizes.length; i++) {
                    if (c.outputGrad(i) != null) {
                        c.addInputGradSlab(0, axis, at, at + sizes[i], c.outputGrad(i));
                    }
                    at += sizes[i];
                }
                return;
            }
            List<Value> parts = new ArrayList<>();
            for (int i = 0; i < n.outputs().size(); i++) {
                parts.add(c.outputGradOrZeros(i));
            }
            c.addInputGrad(0, c.emit().op("Concat", parts, Attribute.ofInt("axis", axis)));
        }
    }

    /** A Slice with its constant parameters resolved against the input's known dims. */
    private record SliceParams(int[] axes, long[] starts, long[] ends, long[] steps) {
        static SliceParams of(Node node, ForwardInfo info) {
            long[] starts = info.knownLongs(node.input(1));
            long[] ends = info.knownLongs(node.input(2));
            Value axesIn = node.input(3);
            Value stepsIn = node.input(4);
            long[] axes = axesIn == null ? null : info.knownLongs(axesIn);
            long[] steps = stepsIn == null ? null : info.knownLongs(stepsIn);
            if (starts == null || ends == null || (axesIn != null && axes == null) || (stepsIn != null && steps == null)) {
                return null;
            }
            int rank = info.rank(node.input(0));
            int[] ax = new int[starts.length];
            for (int i = 0; i < ax.length; i++) {
                ax[i] = ForwardInfo.normalizeAxis(axes == null ? i : axes[i], rank);
            }
            if (steps == null) {
                steps = new long[starts.length];
                Arrays.fill(steps, 1);
            }
            return new SliceParams(ax, starts, ends, steps);
        }

        /** The positions the slice picks along its i-th axis, in output order (ONNX clamping rules). */
        long[] picked(int i, long size) {
            long step = steps[i];
            long start = starts[i] < 0 ? starts[i] + size : starts[i];
            long end = ends[i] < 0 ? ends[i] + size : ends[i];
            if (step > 0) {
                start = Math.clamp(start, 0, size);
                end = Math.clamp(end, 0, size);
            } else {
                start = Math.clamp(start, 0, size - 1);
                end = Math.clamp(end, -1, size - 1);
            }
            List<Long> out = new ArrayList<>();
            for (long p = start; step > 0 ? p < end : p > end; p += step) {
                out.add(p);
            }
            return out.stream().mapToLong(Long::longValue).toArray();
        }
    }

    private static final class SliceRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            String r = ranksKnown(node, info);
            if (r != null) {
                return r;
            }
            SliceParams p = SliceParams.of(node, info);
            if (p == null) {
                return "starts, ends, axes and steps must be known at build time";
            }
            Shape s = info.shape(node.input(0));
            for (int i = 0; i < p.axes().length; i++) {
                if (p.steps()[i] == 0) {
                    return "step 0";
                }
                if (!s.dim(p.axes()[i]).isKnown()) {
                    return "sliced axis " + p.axes()[i] + " has no known size";
                }
            }
            return null;
        }

        @Override
        public void emit(BackwardContext c) {
            SliceParams p = SliceParams.of(c.node(), c.info());
            Shape s = c.shape(c.in(0));
            int rank = s.rank();
            if (p.axes().length == 1 && p.steps()[0] == 1) {
                long[] picked = p.picked(0, s.dim(p.axes()[0]).value());
                if (picked.length > 0) {
                    c.addInputGradSlab(0, p.axes()[0], picked[0], picked[picked.length - 1] + 1, c.outputGrad(0));
                }
                return;
            }
            long[] before = new long[rank];
            long[] after = new long[rank];
            boolean contiguous = false;
            Value g = c.outputGrad(0);
            List<Integer> strided = new ArrayList<>();
            for (int i = 0; i < p.axes().length; i++) {
                long size = s.dim(p.axes()[i]).value();
                long[] picked = p.picked(i, size);
                if (p.steps()[i] == 1) {
                    // an empty slice pads the whole axis with zeros
                    before[p.axes()[i]] = picked.length > 0 ? picked[0] : size;
                    after[p.axes()[i]] = picked.length > 0 ? size - picked[picked.length - 1] - 1 : 0;
                    contiguous = true;
                } else {
                    strided.add(i);
                }
            }
            if (contiguous) {
                g = pad(c, g, before, after);
            }
            for (int i : strided) {
                long size = s.dim(p.axes()[i]).value();
                g = scatterDistinct(c, g, rank, p.axes()[i], p.picked(i, size), size);
            }
            c.addInputGrad(0, g);
        }
    }

    private static final class GatherRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            String r = ranksKnown(node, info);
            if (r != null) {
                return r;
            }
            Tensor indices = info.constant(node.input(1));
            if (indices != null && !indices.dataType().isInteger()) {
                return "indices must be integers";
            }
            int rank = info.rank(node.input(0));
            int axis = ForwardInfo.normalizeAxis(node.intAttr("axis", 0), rank);
            boolean distinct = indices != null && distinct(indices.toLongArray(), info.dim(node.input(0), axis)) != null;
            if (!distinct && info.opset() < 16) {
                return "repeated or computed indices need ScatterElements with reduction (opset 16)";
            }
            return null;
        }

        @Override
        public boolean differentiates(Node node, int input) {
            return input == 0;
        }

        @Override
        public void emit(BackwardContext c) {
            Node n = c.node();
            GraphEmitter e = c.emit();
            Value data = c.in(0);
            Shape ds = c.shape(data);
            int rank = ds.rank();
            int axis = ForwardInfo.normalizeAxis(n.intAttr("axis", 0), rank);
            Tensor indices = c.info().constant(c.in(1));
            Shape is = c.shape(c.in(1));
            long count = indices != null ? indices.numElements() : is.isStatic() ? is.numElements() : -1;
            Value g = c.outputGrad(0);
            // g has data's dims with the axis replaced by the indices' dims: make that one axis of count
            if (is.rank() == 0) {
                g = e.unsqueeze(g, axis);
            } else if (is.rank() > 1) {
                g = e.reshape(g, gatheredShape(c, data, ds, axis, count));
            }
            long[] picked = indices == null ? null : distinct(indices.toLongArray(), ds.dim(axis));
            if (picked != null && is.rank() <= 1 && consecutive(picked)) {
                // one index, or a run of them: a slab of the data's gradient
                c.addInputGradSlab(0, axis, picked[0], picked[0] + picked.length, g);
                return;
            }
            if (picked != null) {
                c.addInputGrad(0, scatterDistinct(c, g, rank, axis, picked, ds.dim(axis).value()));
                return;
            }
            long[] indexDims = new long[rank];
            Arrays.fill(indexDims, 1);
            indexDims[axis] = count;
            Value index = indices != null
                    ? e.constant(Tensor.ofLongs("", indexDims, indices.toLongArray()))
                    : e.reshape(c.in(1), e.longs(indexDims));
            Value index64 = c.dtype(c.in(1)) == dev.slimnx.graph.tensor.DataType.INT64 ? index
                    : e.cast(index, dev.slimnx.graph.tensor.DataType.INT64);
            Value expanded = e.op("Expand", index64, e.op("Shape", g));
            Value zeros = e.zeros(e.shapeOf(data, ds), c.dtype(data));
            c.addInputGrad(0, e.op("ScatterElements", List.of(zeros, expanded, g), Attribute.ofInt("axis", axis),
                    Attribute.ofString("reduction", "add")));
        }

        /** data's shape with the axis replaced by {@code n}: constant when static, else built from Shape(data). */
        private static Value gatheredShape(BackwardContext c, Value data, Shape ds, int axis, long n) {
            GraphEmitter e = c.emit();
            if (ds.isStatic()) {
                long[] dims = ds.sizes();
                dims[axis] = n;
                return e.longs(dims);
            }
            Value shape = e.op("Shape", data);
            List<Value> parts = new ArrayList<>();
            if (axis > 0) {
                parts.add(e.op("Slice", shape, e.longs(0), e.longs(axis)));
            }
            parts.add(e.longs(n));
            if (axis < ds.rank() - 1) {
                parts.add(e.op("Slice", shape, e.longs(axis + 1L), e.longs(ds.rank())));
            }
            return e.op("Concat", parts, Attribute.ofInt("axis", 0));
        }

        private static boolean consecutive(long[] picked) {
            for (int i = 1; i < picked.length; i++) {
                if (picked[i] != picked[i - 1] + 1) {
                    return false;
                }
            }
            return picked.length > 0;
        }

        /** The indices normalized to [0, size) when the size is known and they are distinct, else null. */
        private static long[] distinct(long[] idx, Dim size) {
            if (size == null || !size.isKnown()) {
                return null;
            }
            long d = size.value();
            long[] out = new long[idx.length];
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < idx.length; i++) {
                out[i] = idx[i] < 0 ? idx[i] + d : idx[i];
                if (out[i] < 0 || out[i] >= d || !seen.add(out[i])) {
                    return null;
                }
            }
            return out;
        }
    }
}
