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
 *   <li>{@code dw[m,c',i] = Σ_{n,o} g[n,m,o]·xpad[n, γ·C/G + c', o·s + i·d]}, itself a grouped
 *       convolution with the batch as channels: the input {@code x'[c', γ·N + n] = x[n, γ·C/G + c']}
 *       (a reshape and a transpose of {@code x}; just {@code xᵀ}, the first two axes swapped, when
 *       {@code G = 1}) convolved with {@code gᵀ} as the kernel, {@code G} groups, stride d,
 *       dilation s and the same pads, gives {@code dwᵀ} of shape {@code [C/G, M, k']}; {@code k'}
 *       exceeds the kernel size when the end pad lets windows run past, and is sliced back;</li>
 *   <li>{@code dx = ConvTranspose(g, w)} with the same groups, stride, dilation and pads. The
 *       forward windows may leave the last input positions uncovered (a stride that does not
 *       divide the padded size); {@code output_padding} makes up the difference, so the gradient
 *       has the input's size (ONNX Runtime fills the extra positions from the end pad's region and
 *       with zeros past it, which is the gradient). When the spatial sizes are known only at run
 *       time the transposed convolution is run without its end pad and padded or cropped to the
 *       input's size by a {@code Pad} computed from the two shapes.</li>
 * </ul>
 * {@code auto_pad = SAME_UPPER / SAME_LOWER} is resolved to explicit pads from the input's
 * spatial size ({@code total = max(0, (⌈X/s⌉ - 1)·s + (k - 1)·d + 1 - X)}, the odd element at the
 * end for SAME_UPPER and at the start for SAME_LOWER), so those need a static spatial size;
 * {@code VALID} is zero pads.
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
            return Math.floorDiv(size + pads[i] + pads[i + spatial] - (kernel[i] - 1) * dilations[i] - 1, strides[i]) + 1;
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
                xt = e.reshape(e.transpose(split, perm),
                        e.shapeEndingLike(x, sx, 2, perGroup, -1));
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
