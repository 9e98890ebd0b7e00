package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The rule for Conv with {@code group = 1} and explicit pads (the patch embedding of a ViT, and
 * plain convolutions). With {@code y[n,m,o] = Σ_{c,i} xpad[n,c,o·s + i·d]·w[m,c,i] + b[m]} per
 * spatial axis (stride s, dilation d):
 * <ul>
 *   <li>{@code db[m] = Σ_{n,o} g[n,m,o]};</li>
 *   <li>{@code dw[m,c,i] = Σ_{n,o} g[n,m,o]·xpad[n,c,o·s + i·d]}, which is itself a convolution
 *       with the batch as channels: {@code Conv(xᵀ, gᵀ)} with stride d, dilation s and the same pads
 *       ({@code ᵀ} swaps the first two axes), sliced to the kernel size (the end pad may let it run
 *       past) and transposed back;</li>
 *   <li>{@code dx = ConvTranspose(g, w)} with the same stride, pads and dilation; input positions
 *       the forward windows never covered (the rows a stride skips at the end) get zero, padded on
 *       at the end.</li>
 * </ul>
 * Grouped and depthwise convolutions ({@code group > 1}) and {@code auto_pad} other than
 * {@code NOTSET}/{@code VALID} are refused up front; they are the next half of the work.
 */
final class ConvRules {
    private ConvRules() {
    }

    static void register(Map<String, BackwardRule> rules) {
        rules.put("Conv", new ConvRule());
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
            if (node.intAttr("group", 1) != 1) {
                return "grouped convolution (group " + node.intAttr("group", 1) + ") has no rule yet";
            }
            String autoPad = node.stringAttr("auto_pad", "NOTSET");
            if (!autoPad.equals("NOTSET") && !autoPad.equals("VALID")) {
                return "auto_pad " + autoPad + " has no rule yet; explicit pads do";
            }
            Shape w = info.shape(node.input(1));
            for (int i = 2; i < w.rank(); i++) {
                if (!w.dim(i).isKnown()) {
                    return "kernel size unknown";
                }
            }
            return null;
        }

        @Override
        public void emit(BackwardContext c) {
            Node n = c.node();
            GraphEmitter e = c.emit();
            Value x = c.in(0);
            Value w = c.in(1);
            Value g = c.outputGrad(0);
            int rank = c.shape(x).rank();
            int spatial = rank - 2;
            long[] kernel = Arrays.copyOfRange(c.shape(w).sizes(), 2, rank);
            long[] strides = orOnes(n.intsAttr("strides"), spatial);
            long[] dilations = orOnes(n.intsAttr("dilations"), spatial);
            long[] pads = n.intsAttr("pads");
            if (pads == null || n.stringAttr("auto_pad", "NOTSET").equals("VALID")) {
                pads = new long[2 * spatial];
            }
            long[] swap = new long[rank];
            for (int i = 0; i < rank; i++) {
                swap[i] = i;
            }
            swap[0] = 1;
            swap[1] = 0;
            if (c.needsGrad(2)) {
                long[] axes = new long[rank - 1];
                axes[0] = 0;
                for (int i = 2; i < rank; i++) {
                    axes[i - 1] = i;
                }
                c.addInputGrad(2, e.reduceSum(g, axes, false));
            }
            if (c.needsGrad(1)) {
                Value r = e.op("Conv", List.of(e.transpose(x, swap), e.transpose(g, swap)),
                        Attribute.ofInts("strides", dilations), Attribute.ofInts("dilations", strides),
                        Attribute.ofInts("pads", pads));
                long[] starts = new long[spatial];
                long[] axes = new long[spatial];
                for (int i = 0; i < spatial; i++) {
                    axes[i] = i + 2;
                }
                Value cut = e.op("Slice", r, e.longs(starts), e.longs(kernel), e.longs(axes));
                c.addInputGrad(1, e.transpose(cut, swap));
            }
            if (c.needsGrad(0)) {
                Value dx = e.op("ConvTranspose", List.of(g, w), Attribute.ofInts("strides", strides),
                        Attribute.ofInts("dilations", dilations), Attribute.ofInts("pads", pads));
                c.addInputGrad(0, padToInput(c, dx, x, rank));
            }
        }

        /** Zeros at the end of each spatial axis for the input positions no window covered. */
        private static Value padToInput(BackwardContext c, Value dx, Value x, int rank) {
            GraphEmitter e = c.emit();
            Value shortBy = e.op("Sub", e.op("Slice", e.op("Shape", x), e.longs(2), e.longs(rank)),
                    e.op("Slice", e.op("Shape", dx), e.longs(2), e.longs(rank)));
            List<Value> parts = new ArrayList<>();
            parts.add(e.longs(new long[rank + 2]));
            parts.add(shortBy);
            Value pads = e.op("Concat", parts, Attribute.ofInt("axis", 0));
            return e.op("Pad", dx, pads);
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
}
