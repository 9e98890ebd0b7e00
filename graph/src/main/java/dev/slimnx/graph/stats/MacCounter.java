package dev.slimnx.graph.stats;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.HashMap;
import java.util.Map;

/**
 * Counts the multiply-accumulates of the ops that dominate a vision transformer's compute, from
 * shapes inferred with dynamic input dims fixed to 1.
 *
 * <ul>
 *   <li>Conv: output elements × (input channels / group) × kernel volume; the weight's dim 1 is
 *       already input channels / group.</li>
 *   <li>ConvTranspose: input elements × (output channels / group) × kernel volume.</li>
 *   <li>MatMul (weights or two activations, batched): output elements × K, which is the product
 *       of the batch dims × M × N × K.</li>
 *   <li>Gemm: M × N × K (the bias add is not a MAC).</li>
 *   <li>The quantized forms count as their float op: QLinearConv and ConvInteger as Conv,
 *       QLinearMatMul, MatMulInteger and ONNX Runtime's DynamicQuantizeMatMul,
 *       MatMulIntegerToFloat and MatMulNBits as MatMul (a quantized model does the same
 *       multiply-accumulates, in fewer bits).</li>
 *   <li>Einsum of two or more operands: the product of the sizes of all its index letters.</li>
 * </ul>
 * Other ops count 0: elementwise work is small next to these and is not what MAC budgets measure.
 */
final class MacCounter {
    private final InferenceResult shapes;
    private boolean exact;

    MacCounter(InferenceResult shapes) {
        this.shapes = shapes;
    }

    /** @return MACs of the node, or -1 when the op is not one that is counted */
    long count(Node n) {
        exact = true;
        if (n.domain().equals("com.microsoft")) {
            // ONNX Runtime's quantized matrix products: activations [..., K] times weights [K, N]
            return switch (n.opType()) {
                case "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "MatMulNBits" -> matmul(n, 0);
                default -> -1;
            };
        }
        if (!n.isOnnxDomain()) {
            return -1;
        }
        return switch (n.opType()) {
            case "Conv", "ConvInteger" -> conv(n, 0, 1);
            case "QLinearConv" -> conv(n, 0, 3);
            case "ConvTranspose" -> convTranspose(n);
            case "MatMul", "MatMulInteger" -> matmul(n, 0);
            case "QLinearMatMul" -> matmul(n, 0);
            case "Gemm" -> gemm(n);
            case "Einsum" -> einsum(n);
            default -> -1;
        };
    }

    /** @return false when the last count took some unknown dim as 1 */
    boolean lastWasExact() {
        return exact;
    }

    private long size(Dim d) {
        if (d.isKnown()) {
            return d.value();
        }
        exact = false;
        return 1;
    }

    private long numel(Shape s) {
        long n = 1;
        for (Dim d : s.dims()) {
            n = Math.multiplyExact(n, size(d));
        }
        return n;
    }

    private Shape shape(Node n, int input) {
        return input < n.inputs().size() && n.input(input) != null ? shapes.shapeOf(n.input(input)) : null;
    }

    private Shape outShape(Node n) {
        return shapes.shapeOf(n.output(0));
    }

    private long conv(Node n, int x, int w) {
        Shape weight = shape(n, w);
        Shape out = outShape(n);
        if (weight == null || out == null) {
            exact = false;
            return 0;
        }
        long perOutput = 1;
        for (int i = 1; i < weight.rank(); i++) {
            perOutput = Math.multiplyExact(perOutput, size(weight.dim(i)));
        }
        return Math.multiplyExact(numel(out), perOutput);
    }

    private long convTranspose(Node n) {
        Shape in = shape(n, 0);
        Shape weight = shape(n, 1);
        if (in == null || weight == null) {
            exact = false;
            return 0;
        }
        long perInput = 1;
        for (int i = 1; i < weight.rank(); i++) {
            perInput = Math.multiplyExact(perInput, size(weight.dim(i)));
        }
        return Math.multiplyExact(numel(in), perInput);
    }

    private long matmul(Node n, int a) {
        Shape left = shape(n, a);
        Shape out = outShape(n);
        if (left == null || out == null || left.rank() == 0) {
            exact = false;
            return 0;
        }
        return Math.multiplyExact(numel(out), size(left.dim(-1)));
    }

    private long gemm(Node n) {
        Shape a = shape(n, 0);
        Shape out = outShape(n);
        if (a == null || out == null || a.rank() != 2) {
            exact = false;
            return 0;
        }
        Dim k = a.dim(n.intAttr("transA", 0) != 0 ? 0 : 1);
        return Math.multiplyExact(numel(out), size(k));
    }

    private long einsum(Node n) {
        String eq = n.stringAttr("equation", "").replace(" ", "");
        String[] terms = eq.split("->", -1)[0].split(",", -1);
        if (terms.length < 2) {
            return 0;
        }
        Map<Character, Long> letters = new HashMap<>();
        long ellipsis = 1;
        for (int i = 0; i < terms.length; i++) {
            Shape s = shape(n, i);
            if (s == null) {
                exact = false;
                return 0;
            }
            String t = terms[i];
            String plain = t.replace("...", "");
            int ellRank = s.rank() - plain.length();
            int k = 0;
            long ell = 1;
            for (int c = 0; c < t.length(); c++) {
                if (t.startsWith("...", c)) {
                    for (int e = 0; e < ellRank; e++) {
                        ell = Math.multiplyExact(ell, size(s.dim(k++)));
                    }
                    c += 2;
                    continue;
                }
                letters.merge(t.charAt(c), size(s.dim(k++)), Math::max);
            }
            ellipsis = Math.max(ellipsis, ell);
        }
        long macs = ellipsis;
        for (long v : letters.values()) {
            macs = Math.multiplyExact(macs, v);
        }
        return macs;
    }
}
