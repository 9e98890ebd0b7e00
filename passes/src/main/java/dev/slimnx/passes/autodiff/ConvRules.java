package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The rule for Conv: any spatial rank, strides, dilations, asymmetric pads, groups (depthwise
 * included) and {@code auto_pad}. With {@code G} groups of {@code C/G} input and {@code M/G} output
 * channels, output channel {@code m} of group {@code γ = m / (M/G)} reads input channels
 * {@code γ·C/G + c'}, and per spatial axis (stride s, dilation d)
 * {@code y[n,m,o] = Σ_{c',i} xpad[n, γ·C/G + c', o·s + i·d]·w[m,c',i] + b[m]}:
 * <ul>
 *   <li>{@code db[m] = Σ_{n,o} g[n,m,o]};</li>
 *   <li>{@code dw[m,c',i] = Σ_{n,o} g[n,m,o]·xpad[n, γ·C/G + c', o·s + i·d]}: a matrix product of
 *       {@code g} with the input's columns (im2col). When the spatial sizes are static the columns
 *       are built from one strided {@code Slice} of the padded input per kernel tap (none at all
 *       for a 1×1 kernel of stride 1 without pads: the input is its own column matrix; a reshape
 *       and a transpose when the windows tile the input, as a patch embedding's do) and the
 *       product is a batched {@code MatMul} per image summed over the batch, or, when the product's
 *       per-image output would outweigh the inputs, one product over the batch and positions
 *       folded together. A depthwise convolution (one input and one output channel per group)
 *       needs no product and no columns: per tap, a {@code Mul} of its slice with {@code g} and a
 *       {@code ReduceSum} over all but the channel axis. Otherwise (sizes known at
 *       run time only) it is a grouped convolution with the batch as channels: the input
 *       {@code x'[c', γ·N + n] = x[n, γ·C/G + c']} convolved with {@code gᵀ} as the kernel, stride
 *       d, dilation s, the same pads, sliced to the kernel size;</li>
 *   <li>{@code dx}: with stride 1 (and pads no wider than the dilated kernel), a convolution of
 *       {@code g} with the kernel flipped and each group's channel axes swapped, padded by
 *       {@code (k - 1)·d - pad} on each side; otherwise {@code ConvTranspose(g, w)} with the same
 *       groups, stride, dilation and pads, where {@code output_padding} makes up the input
 *       positions past the last window (ONNX Runtime fills them from the end pad's region and
 *       with zeros past it, which is the gradient). When the spatial sizes are known only at run
 *       time the transposed convolution runs without its end pad and is padded or cropped to the
 *       input's size by a {@code Pad} computed from the two shapes.</li>
 * </ul>
 * {@code auto_pad = SAME_UPPER / SAME_LOWER} is resolved to explicit pads from the input's
 * spatial size ({@code total = max(0, (⌈X/s⌉ - 1)·s + (k - 1)·d + 1 - X)}, the odd element at the
 * end for SAME_UPPER and at the start for SAME_LOWER), so those need a static spatial size;
 * {@code VALID} is zero pads.
 *
 * <p>NOTE: the forms were chosen by measuring ONNX Runtime's CPU kernels (batch 64, filters fed
 * as inputs, as in a gradient model): its {@code Conv} with the batch as channels runs the weight
 * gradient as thin products (one output row per kernel tap) and took 14× EfficientViT's forward
 * convolutions; {@code ConvTranspose} (a product, then col2im) took up to 4× the stride-1
 * {@code Conv} computing the same input gradient (1×1 kernels), and never less.
 */
final class ConvRules {
    private ConvRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("Conv", new ConvRule());
    }

    /** A Conv's geometry, resolved at build time. */
    private record Geometry(int spatial, long group, long[] kernel, long[] strides, long[] dilations, long[] pads) {
        static Geometry of(Node node, ForwardInfo info) {
            Shape w = info.shape(node.input(1));
            int spatial = w.rank() - 2;
            long[] kernel = Arrays.copyOfRange(w.sizes(), 2, w.rank());
            long[] strides = orOnes(node.intsAttr("strides"), spatial);
            long[] dilations = orOnes(node.intsAttr("dilations"), spatial);
            String autoPad = node.stringAttr("auto_pad", "NOTSET");
            long[] pads = node.intsAttr("pads");
            if (pads == null || autoPad.equals("VALID")) {
                pads = new long[2 * spatial];
            }
            if (autoPad.startsWith("SAME")) {
                Shape x = info.shape(node.input(0));
                pads = new long[2 * spatial];
                for (int i = 0; i < spatial; i++) {
                    long size = x.dim(i + 2).value();
                    long out = Math.ceilDiv(size, strides[i]);
                    long total = Math.max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - size);
                    long small = total / 2;
                    pads[i] = autoPad.equals("SAME_UPPER") ? small : total - small;
                    pads[i + spatial] = total - pads[i];
                }
            }
            return new Geometry(spatial, node.intAttr("group", 1), kernel, strides, dilations, pads);
        }

        /** The size of the forward output along spatial axis i for an input of {@code size}. */
        long outputSize(int i, long size) {
            long reach = (kernel[i] - 1) * dilations[i] + 1;
            return Math.floorDiv(size + pads[i] + pads[i + spatial] - reach, strides[i]) + 1;
        }
    }

    private static final class ConvRule implements BackwardRule {
        @Override
        public String unsupportedReason(Node node, ForwardInfo info) {
            for (Value v : node.inputs()) {
                if (v != null && info.rank(v) < 0) {
                    return "rank of '" + v.name() + "' unknown";
                }
            }
            if (info.rank(node.output(0)) < 0) {
                return "rank of '" + node.output(0).name() + "' unknown";
            }
            Shape w = info.shape(node.input(1));
            for (int i = 0; i < w.rank(); i++) {
                if (!w.dim(i).isKnown()) {
                    return "weight shape unknown";
                }
            }
            long group = node.intAttr("group", 1);
            if (group < 1 || w.dim(0).value() % group != 0) {
                return "group " + group + " does not divide the " + w.dim(0).value() + " output channels";
            }
            String autoPad = node.stringAttr("auto_pad", "NOTSET");
            switch (autoPad) {
                case "NOTSET", "VALID" -> {
                }
                case "SAME_UPPER", "SAME_LOWER" -> {
                    Shape x = info.shape(node.input(0));
                    for (int i = 2; i < x.rank(); i++) {
                        if (!x.dim(i).isKnown()) {
                            return "auto_pad " + autoPad + " needs the input's spatial size at build time";
                        }
                    }
                }
                default -> {
                    return "unknown auto_pad " + autoPad;
                }
            }
            return null;
        }

        @Override
        public void emit(BackwardContext c) {
            Node n = c.node();
            GraphEmitter e = c.emit();
            Value g = c.outputGrad(0);
            Geometry geo = Geometry.of(n, c.info());
            int rank = geo.spatial() + 2;
            if (c.needsGrad(2)) {
                long[] axes = new long[rank - 1];
                for (int i = 2; i < rank; i++) {
                    axes[i - 1] = i;
                }
                c.addInputGrad(2, e.reduceSum(g, axes, false));
            }
            if (c.needsGrad(1)) {
                c.addInputGrad(1, weightGrad(c, geo, g));
            }
            if (c.needsGrad(0)) {
                c.addInputGrad(0, inputGrad(c, geo, g));
            }
        }

        private static Value weightGrad(BackwardContext c, Geometry geo, Value g) {
            Shape sx = c.shape(c.in(0));
            Shape sy = c.shape(c.out(0));
            boolean known = sx.dim(1).isKnown();
            for (int i = 2; i < sx.rank(); i++) {
                known &= sx.dim(i).isKnown() && sy.dim(i).isKnown();
            }
            return known ? weightGradAsProduct(c, geo, g, sx, sy) : weightGradAsConv(c, geo, g);
        }

        /** dw as (columns of x) · g, per group; see the class comment. */
        private static Value weightGradAsProduct(BackwardContext c, Geometry geo, Value g, Shape sx, Shape sy) {
            GraphEmitter e = c.emit();
            int spatial = geo.spatial();
            long channels = sx.dim(1).value();
            long filters = c.shape(c.in(1)).dim(0).value();
            long group = geo.group();
            long cg = channels / group;
            long mg = filters / group;
            long taps = 1;
            long positions = 1;
            for (int i = 0; i < spatial; i++) {
                taps *= geo.kernel()[i];
                positions *= sy.dim(i + 2).value();
            }
            long[] weightDims = new long[spatial + 2];
            weightDims[0] = filters;
            weightDims[1] = cg;
            System.arraycopy(geo.kernel(), 0, weightDims, 2, spatial);
            if (cg == 1 && mg == 1) {
                // depthwise: per tap, the sum over the batch and positions of the shifted input times g
                List<Value> perTap = new ArrayList<>();
                long[] reduced = new long[spatial + 1];
                for (int i = 1; i < reduced.length; i++) {
                    reduced[i] = i + 1;
                }
                for (Value tap : taps(c, geo, sy)) {
                    perTap.add(e.unsqueeze(e.reduceSum(e.op("Mul", tap, g), reduced, false), 1));
                }
                Value dw = perTap.size() == 1 ? perTap.get(0) : e.op("Concat", perTap, Attribute.ofInt("axis", 1));
                return e.reshape(dw, e.longs(weightDims));
            }
            Value cols = columns(c, geo, sx, sy); // [N, C, taps, O...] or x itself
            long k = cg * taps;
            // batched: one [M/G, P] x [P, k] product per image, summed; folded: the batch joins the
            // positions, at the price of moving both operands' batch axis inward
            boolean batched = filters * k <= positions * (filters + channels * taps);
            Value dw;
            if (group == 1) {
                Value g3 = e.reshape(g, e.longs(-1, filters, positions));
                Value c3 = e.reshape(cols, e.longs(-1, k, positions));
                if (batched) {
                    dw = e.reduceSum(e.op("MatMul", g3, e.transpose(c3, 0, 2, 1)), new long[] {0}, false);
                } else {
                    Value g2 = e.reshape(e.transpose(g3, 1, 0, 2), e.longs(filters, -1));
                    Value c2 = e.reshape(e.transpose(c3, 1, 0, 2), e.longs(k, -1));
                    dw = e.op("Gemm", List.of(g2, c2), Attribute.ofInt("transB", 1));
                }
            } else {
                Value g4 = e.reshape(g, e.longs(-1, group, mg, positions));
                Value c4 = e.reshape(cols, e.longs(-1, group, k, positions));
                if (batched) {
                    dw = e.reduceSum(e.op("MatMul", g4, e.transpose(c4, 0, 1, 3, 2)), new long[] {0}, false);
                } else {
                    Value g3 = e.reshape(e.transpose(g4, 1, 2, 0, 3), e.longs(group, mg, -1));
                    Value c3 = e.reshape(e.transpose(c4, 1, 2, 0, 3), e.longs(group, k, -1));
                    dw = e.op("MatMul", g3, e.transpose(c3, 0, 2, 1));
                }
            }
            return e.reshape(dw, e.longs(weightDims));
        }

        /**
         * The input's columns: {@code [N, C, taps, O...]}, entry {@code [n, c, t, o]} being the
         * padded input at {@code o·s + i_t·d} (tap t at kernel position {@code i_t}); the input
         * itself for a 1×1 kernel of stride 1 without pads.
         */
        private static Value columns(BackwardContext c, Geometry geo, Shape sx, Shape sy) {
            if (tilesExactly(geo, sx, sy) && Arrays.stream(geo.kernel()).anyMatch(k -> k > 1)) {
                // non-overlapping windows that tile the input (a ViT's patch embedding): the columns
                // are a reshape and a transpose, [N, C, O1, k1, O2, k2] -> [N, C, k1, k2, O1, O2]
                int spatial = geo.spatial();
                long[] split = new long[2 + 2 * spatial];
                long[] perm = new long[2 + 2 * spatial];
                split[0] = -1;
                split[1] = sx.dim(1).value();
                perm[1] = 1;
                for (int i = 0; i < spatial; i++) {
                    split[2 + 2 * i] = sy.dim(i + 2).value();
                    split[3 + 2 * i] = geo.kernel()[i];
                    perm[2 + i] = 3 + 2 * i;
                    perm[2 + spatial + i] = 2 + 2 * i;
                }
                return c.emit().transpose(c.emit().reshape(c.in(0), c.emit().longs(split)), perm);
            }
            List<Value> taps = taps(c, geo, sy);
            List<Value> stacked = new ArrayList<>();
            for (Value t : taps) {
                stacked.add(t == c.in(0) ? t : c.emit().unsqueeze(t, 2));
            }
            return stacked.size() == 1 ? stacked.get(0) : c.emit().op("Concat", stacked, Attribute.ofInt("axis", 2));
        }

        /** True when the windows do not overlap and tile the input: stride = kernel, no pads or gaps. */
        private static boolean tilesExactly(Geometry geo, Shape sx, Shape sy) {
            for (int i = 0; i < geo.spatial(); i++) {
                long k = geo.kernel()[i];
                if (geo.strides()[i] != k || (k > 1 && geo.dilations()[i] != 1) || geo.pads()[i] != 0
                        || geo.pads()[i + geo.spatial()] != 0 || sx.dim(i + 2).value() != sy.dim(i + 2).value() * k) {
                    return false;
                }
            }
            return true;
        }

        /**
         * One value of the output's spatial shape per kernel tap: the padded input at
         * {@code o·s + i·d} for the tap's kernel position i, a strided {@code Slice}; the input
         * itself for a 1×1 kernel of stride 1 without pads.
         */
        private static List<Value> taps(BackwardContext c, Geometry geo, Shape sy) {
            GraphEmitter e = c.emit();
            Value x = c.in(0);
            int spatial = geo.spatial();
            boolean identity = Arrays.stream(geo.pads()).allMatch(p -> p == 0);
            for (int i = 0; i < spatial; i++) {
                identity &= geo.kernel()[i] == 1 && geo.strides()[i] == 1;
            }
            if (identity) {
                return List.of(x);
            }
            Value padded = x;
            if (Arrays.stream(geo.pads()).anyMatch(p -> p != 0)) {
                long[] pads = new long[2 * (spatial + 2)];
                for (int i = 0; i < spatial; i++) {
                    pads[i + 2] = geo.pads()[i];
                    pads[i + spatial + 4] = geo.pads()[i + spatial];
                }
                padded = e.op("Pad", padded, e.longs(pads));
            }
            long[] axes = new long[spatial];
            for (int i = 0; i < spatial; i++) {
                axes[i] = i + 2;
            }
            Value axesV = e.longs(axes);
            Value stepsV = e.longs(geo.strides());
            List<Value> taps = new ArrayList<>();
            int[] at = new int[spatial];
            while (true) {
                long[] starts = new long[spatial];
                long[] ends = new long[spatial];
                for (int i = 0; i < spatial; i++) {
                    starts[i] = at[i] * geo.dilations()[i];
                    ends[i] = starts[i] + (sy.dim(i + 2).value() - 1) * geo.strides()[i] + 1;
                }
                taps.add(e.op("Slice", padded, e.longs(starts), e.longs(ends), axesV, stepsV));
                int i = spatial - 1;
                while (i >= 0 && ++at[i] == geo.kernel()[i]) {
                    at[i] = 0;
                    i--;
                }
                if (i < 0) {
                    break;
                }
            }
            return taps;
        }

        private static Value weightGradAsConv(BackwardContext c, Geometry geo, Value g) {
            GraphEmitter e = c.emit();
            Value x = c.in(0);
            Shape sx = c.shape(x);
            int rank = geo.spatial() + 2;
            long[] swap = swapFirstTwo(rank);
            long group = geo.group();
            Value xt;
            if (group == 1) {
                xt = e.transpose(x, swap);
            } else {
                // x [N, C, S...] -> [N, G, C/G, S...] -> [C/G, G, N, S...] -> [C/G, G·N, S...]
                long perGroup = c.shape(c.in(1)).dim(1).value();
                Value split = e.reshape(x, e.shapeEndingLike(x, sx, 2, -1, group, perGroup));
                long[] perm = new long[rank + 1];
                perm[0] = 2;
                perm[1] = 1;
                perm[2] = 0;
                for (int i = 3; i <= rank; i++) {
                    perm[i] = i;
                }
                xt = e.reshape(e.transpose(split, perm), e.shapeEndingLike(x, sx, 2, perGroup, -1));
            }
            List<Attribute> attrs = new ArrayList<>(List.of(Attribute.ofInts("strides", geo.dilations()),
                    Attribute.ofInts("dilations", geo.strides()), Attribute.ofInts("pads", geo.pads())));
            if (group != 1) {
                attrs.add(Attribute.ofInt("group", group));
            }
            Value r = e.op("Conv", List.of(xt, e.transpose(g, swap)), attrs.toArray(Attribute[]::new));
            if (!reachesExactly(geo, sx, c.shape(c.out(0)))) {
                long[] starts = new long[geo.spatial()];
                long[] axes = new long[geo.spatial()];
                for (int i = 0; i < geo.spatial(); i++) {
                    axes[i] = i + 2;
                }
                r = e.op("Slice", r, e.longs(starts), e.longs(geo.kernel()), e.longs(axes));
            }
            return e.transpose(r, swap);
        }

        /**
         * True when the weight-gradient convolution is known to come out at the kernel size, so no
         * Slice is needed: its size along each axis is {@code ⌊(X + pads - (O-1)·s - 1) / d⌋ + 1}.
         */
        private static boolean reachesExactly(Geometry geo, Shape sx, Shape sy) {
            for (int i = 0; i < geo.spatial(); i++) {
                Dim x = sx.dim(i + 2);
                Dim o = sy.dim(i + 2);
                if (!x.isKnown() || !o.isKnown()) {
                    return false;
                }
                long padded = x.value() + geo.pads()[i] + geo.pads()[i + geo.spatial()];
                long size = Math.floorDiv(padded - (o.value() - 1) * geo.strides()[i] - 1, geo.dilations()[i]) + 1;
                if (size != geo.kernel()[i]) {
                    return false;
                }
            }
            return true;
        }

        private static Value inputGrad(BackwardContext c, Geometry geo, Value g) {
            GraphEmitter e = c.emit();
            Value flipped = strideOneInputGrad(c, geo, g);
            if (flipped != null) {
                return flipped;
            }
            Value x = c.in(0);
            Shape sx = c.shape(x);
            int spatial = geo.spatial();
            long[] extra = new long[spatial];
            boolean known = true;
            for (int i = 0; i < spatial; i++) {
                Dim d = sx.dim(i + 2);
                if (!d.isKnown()) {
                    known = false;
                    break;
                }
                long o = geo.outputSize(i, d.value());
                long covered = geo.strides()[i] * (o - 1) + (geo.kernel()[i] - 1) * geo.dilations()[i] + 1
                        - geo.pads()[i] - geo.pads()[i + spatial];
                extra[i] = d.value() - covered;
                known &= extra[i] >= 0 && extra[i] < Math.max(geo.strides()[i], geo.dilations()[i]);
            }
            List<Attribute> attrs = new ArrayList<>(List.of(Attribute.ofInts("strides", geo.strides()),
                    Attribute.ofInts("dilations", geo.dilations())));
            if (geo.group() != 1) {
                attrs.add(Attribute.ofInt("group", geo.group()));
            }
            if (known) {
                attrs.add(Attribute.ofInts("pads", geo.pads()));
                if (Arrays.stream(extra).anyMatch(v -> v != 0)) {
                    attrs.add(Attribute.ofInts("output_padding", extra));
                }
                return e.op("ConvTranspose", List.of(g, c.in(1)), attrs.toArray(Attribute[]::new));
            }
            // sizes known only at run time: no end pad, then pad (or crop, negative) to x's size
            long[] beginOnly = Arrays.copyOf(geo.pads(), 2 * spatial);
            Arrays.fill(beginOnly, spatial, 2 * spatial, 0);
            attrs.add(Attribute.ofInts("pads", beginOnly));
            Value dx = e.op("ConvTranspose", List.of(g, c.in(1)), attrs.toArray(Attribute[]::new));
            int rank = spatial + 2;
            Value shortBy = e.op("Sub", e.op("Slice", e.op("Shape", x), e.longs(2), e.longs(rank)),
                    e.op("Slice", e.op("Shape", dx), e.longs(2), e.longs(rank)));
            Value pads = e.op("Concat", List.of(e.longs(new long[rank + 2]), shortBy), Attribute.ofInt("axis", 0));
            return e.op("Pad", dx, pads);
        }

        /**
         * dx as a convolution of g with the flipped kernel, each group's channel axes swapped, or
         * null when a stride is not 1 or a pad is wider than the dilated kernel.
         */
        private static Value strideOneInputGrad(BackwardContext c, Geometry geo, Value g) {
            int spatial = geo.spatial();
            long[] pads = new long[2 * spatial];
            for (int i = 0; i < spatial; i++) {
                long reach = (geo.kernel()[i] - 1) * geo.dilations()[i];
                pads[i] = reach - geo.pads()[i];
                pads[i + spatial] = reach - geo.pads()[i + spatial];
                if (geo.strides()[i] != 1 || pads[i] < 0 || pads[i + spatial] < 0) {
                    return null;
                }
            }
            GraphEmitter e = c.emit();
            Value w = c.in(1);
            Shape sw = c.shape(w);
            long filters = sw.dim(0).value();
            long cg = sw.dim(1).value();
            long group = geo.group();
            long mg = filters / group;
            Value wt = w;
            if (cg != 1 || mg != 1) {
                // [M, C/G, k...] -> [G, M/G, C/G, k...] -> [G, C/G, M/G, k...] -> [C, M/G, k...]
                long[] split = new long[spatial + 3];
                split[0] = group;
                split[1] = mg;
                split[2] = cg;
                System.arraycopy(geo.kernel(), 0, split, 3, spatial);
                long[] perm = new long[spatial + 3];
                perm[1] = 2;
                perm[2] = 1;
                for (int i = 3; i < perm.length; i++) {
                    perm[i] = i;
                }
                long[] joined = new long[spatial + 2];
                joined[0] = group * cg;
                joined[1] = mg;
                System.arraycopy(geo.kernel(), 0, joined, 2, spatial);
                wt = group == 1 ? e.transpose(w, swapFirstTwo(spatial + 2))
                        : e.reshape(e.transpose(e.reshape(w, e.longs(split)), perm), e.longs(joined));
            }
            if (Arrays.stream(geo.kernel()).anyMatch(k -> k > 1)) {
                long[] starts = new long[spatial];
                long[] ends = new long[spatial];
                long[] axes = new long[spatial];
                long[] steps = new long[spatial];
                for (int i = 0; i < spatial; i++) {
                    starts[i] = -1;
                    ends[i] = Long.MIN_VALUE;
                    axes[i] = i + 2;
                    steps[i] = -1;
                }
                wt = e.op("Slice", wt, e.longs(starts), e.longs(ends), e.longs(axes), e.longs(steps));
            }
            List<Attribute> attrs = new ArrayList<>(List.of(Attribute.ofInts("dilations", geo.dilations()),
                    Attribute.ofInts("pads", pads)));
            if (group != 1) {
                attrs.add(Attribute.ofInt("group", group));
            }
            return e.op("Conv", List.of(g, wt), attrs.toArray(Attribute[]::new));
        }

        private static long[] swapFirstTwo(int rank) {
            long[] swap = new long[rank];
            for (int i = 0; i < rank; i++) {
                swap[i] = i;
            }
            swap[0] = 1;
            swap[1] = 0;
            return swap;
        }
    }

    private static long[] orOnes(long[] v, int n) {
        if (v != null) {
            return v;
        }
        long[] ones = new long[n];
        Arrays.fill(ones, 1);
        return ones;
    }
}
