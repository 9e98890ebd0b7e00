package dev.slimnx.passes.quant;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@code quantize-int4}: weight-only 4-bit quantization of MatMul weights in blocks along K, as ONNX
 * Runtime's {@code com.microsoft:MatMulNBits}; activations stay float32.
 *
 * <h2>The math</h2>
 * A weight {@code W[K, N]} is cut, column by column, into {@code ⌈K / B⌉} blocks of {@code B}
 * (the block size) consecutive rows; the last block is padded when {@code B} does not divide
 * {@code K}. Each block gets a scale {@code s} and a zero point {@code z} in [0, 15], each weight a
 * code {@code q} in [0, 15], and {@code MatMulNBits} computes with {@code W' = (q − z)·s}:
 * <ul>
 *   <li>symmetric (no zero points stored; the operator's default {@code z = 8}): with {@code m} the
 *       block's value of largest magnitude (sign kept), {@code s = m / −8} and
 *       {@code q = clamp(round(w / s), −8, 7) + 8}. So {@code m} is exact (code 0), codes use all 16
 *       levels, and {@code |w − W'| ≤ |s|/2}, except a value of the sign opposite to {@code m} and
 *       magnitude above {@code 7.5·|s|}, clamped to code 15: error at most {@code |s|}.
 *       A block of zeros gets {@code s = 1}.</li>
 *   <li>asymmetric (zero points stored): with the block's range widened to include 0,
 *       {@code [lo, hi] = [min(w, 0), max(w, 0)]}, {@code s = (hi − lo) / 15},
 *       {@code z = round(−lo / s)} and {@code q = clamp(round(w / s) + z, 0, 15)}
 *       ({@link QuantMath#asymmetric}): 0 is exact and {@code |w − W'| ≤ s/2}.</li>
 * </ul>
 * Rounding is half to even. Padding rows get code {@code z} (value 0).
 *
 * <h2>The layout ({@code MatMulNBits}, bits = 4)</h2>
 * Attributes {@code K}, {@code N}, {@code bits = 4}, {@code block_size = B},
 * {@code accuracy_level = 0} (activations stay float32 inside the kernel). Input {@code B} is uint8
 * {@code [N, ⌈K/B⌉, B/2]}: for column {@code n}, block {@code b}, row {@code j} of the block, the code
 * is in byte {@code (n·⌈K/B⌉ + b)·B/2 + j/2}, in the low nibble for even {@code j} and the high nibble
 * for odd {@code j}. {@code scales} is float32 {@code [N, ⌈K/B⌉]}. {@code zero_points} (asymmetric
 * only) is uint8 {@code [N, ⌈⌈K/B⌉/2⌉]}: block {@code b} of column {@code n} in byte
 * {@code n·⌈⌈K/B⌉/2⌉ + b/2}, low nibble for even {@code b}; each column's row is padded to whole bytes.
 *
 * <h2>Choices, measured</h2>
 * With ONNX Runtime 1.23.2 on CPU (2 intra-op threads, full optimization, AVX2 without VNNI, a
 * loaded 2-core machine; {@code LatencyBenchmark}, interleaved, 8 s per batch size, p50; "b1/b8" is
 * batch 1/8 of a [197, 768]×[768, 3072] product, "ViT" the reference ViT at batch 1/8):
 * <ul>
 *   <li>NOTE: MatMulNBits rather than a blocked {@code DequantizeLinear}: ONNX Runtime's CPU
 *       provider does run an opset-21 int4 {@code DequantizeLinear} with {@code block_size}
 *       feeding a float MatMul, and at EXTENDED/ALL fuses the pair into MatMulNBits, but with
 *       {@code accuracy_level = 4} (its session default), which was slower here: MatMulNBits at
 *       level 0 was 1.12×/1.02× faster on the product and 1.06×/1.19× on the ViT. The blocked
 *       form also needs the whole model moved from opset 17 to 21.</li>
 *   <li>NOTE: asymmetric by default: no speed difference could be measured (symmetric against
 *       asymmetric 0.99×/1.02× on the product, 1.05×/1.02× on the ViT), and asymmetric blocks are
 *       more accurate: weight SQNR 21.5 dB against 20.8 dB on the ViT and 21.7 against 21.1 on
 *       DeepViT at block size 32; DeepViT's logits moved by 0.131 on average against 0.175, and
 *       its predictions agreed with float on 97.0% of 2000 test images against 95.6%.</li>
 *   <li>NOTE: {@code accuracy_level = 0} (float activations): level 4 (activations quantized to
 *       int8 per block) was slower on this CPU (level 0 1.04×/1.05× faster on the product, within
 *       noise, and 1.10×/1.19× faster on the ViT) and less accurate.</li>
 *   <li>Against float MatMul, 4-bit weights brought no speed here (0.97×/0.97× on the product,
 *       0.92×/0.99× on the ViT): with a hundred or more tokens per image the products are bound by
 *       arithmetic, not by reading weights. What they bring is size: the weights take an eighth
 *       of their float bytes, plus a scale and a zero point per block.</li>
 * </ul>
 *
 * <h2>When it fires, and when not</h2>
 * {@code MatMul(X, W)} (count {@code MatMul}) with {@code W} a float32 constant of rank 2
 * ({@link GraphEdits#constant}, read directly or through Identity nodes:
 * {@link GraphEdits#constantSource}) with no zero dim, {@code X} float32 of known rank ≥ 2 whose last
 * dim, when known, is {@code K}, and neither the node's name nor {@code MatMul} in
 * {@link Options#excludeNodes()}. Everything else stays as it is: Gemm (the classifier heads) and
 * MatMuls between two activations (attention) included. A MatMul whose output is read only by an
 * {@code Add} of a constant float bias of shape {@code [N]}, {@code [1]} or {@code [1, …, 1, N]}
 * (rank at most that of the output) gets the bias as its {@code bias} input and the Add goes
 * (count stays {@code MatMul}). Every check of a site is made before its first change; subgraphs
 * are visited; a weight read by several MatMuls of one graph is quantized once; float weights, bias
 * constants and Identity nodes nothing reads any more are removed. The model gets the
 * {@code com.microsoft} opset import (version 1) when anything changed. {@link #requires} refuses a
 * model that already holds quantized ops ({@link QuantizedOps}).
 */
public final class QuantizeInt4Pass implements Pass {
    /** The pass id. */
    public static final String ID = "quantize-int4";

    /** The block sizes this pass writes. */
    public static final Set<Integer> BLOCK_SIZES = Set.of(32, 64, 128);

    /** How the CLI and recipes find this pass. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "4-bit block-wise MatMul weights (com.microsoft:MatMulNBits), activations stay float", false,
            List.of(new PassOption("block-size", "weights per block along K: 32, 64 or 128", "32"),
                    new PassOption("symmetric", "zero point 8 for every block (false: a zero point per block)",
                            "false"),
                    new PassOption("exclude", "node names or op types to leave in float, comma-separated", "")),
            o -> new QuantizeInt4Pass(new Options(Math.toIntExact(o.longValue("block-size")),
                    o.booleanValue("symmetric"), QuantizedOps.names(o.string("exclude")))));

    /** The accuracy level written: the kernel keeps the activations in float32. */
    private static final int ACCURACY_LEVEL = 0;

    private static final System.Logger LOG = System.getLogger(QuantizeInt4Pass.class.getName());

    /**
     * Options of {@code quantize-int4}.
     *
     * @param blockSize weights per block along K: 32, 64 or 128
     * @param symmetric zero point 8 for every block (true) or one stored per block (false)
     * @param excludeNodes node names or op types left in float (may be empty)
     */
    public record Options(int blockSize, boolean symmetric, Set<String> excludeNodes) {
        /**
         * @throws NullPointerException if excludeNodes is null or holds null
         * @throws IllegalArgumentException if blockSize is not 32, 64 or 128, or excludeNodes holds a
         *     blank name
         */
        public Options {
            excludeNodes = Set.copyOf(Objects.requireNonNull(excludeNodes, "excludeNodes"));
            if (!BLOCK_SIZES.contains(blockSize)) {
                throw new IllegalArgumentException("block-size must be 32, 64 or 128, got " + blockSize);
            }
            if (excludeNodes.stream().anyMatch(String::isBlank)) {
                throw new IllegalArgumentException("exclude: node names and op types must not be blank");
            }
        }

        /** @return block size 32, asymmetric (a zero point per block), nothing excluded */
        public static Options defaults() {
            return new Options(32, false, Set.of());
        }
    }

    /**
     * A weight in MatMulNBits layout (see the class comment).
     *
     * @param k rows of the float weight
     * @param n columns of the float weight
     * @param blockSize rows per block
     * @param packed the codes, {@code [N, blocks, blockSize/2]}
     * @param scales one per block, {@code [N, blocks]}
     * @param zeroPoints packed zero points, {@code [N, ⌈blocks/2⌉]}, or null (symmetric: 8)
     */
    private record Blockwise(int k, int n, int blockSize, byte[] packed, float[] scales, byte[] zeroPoints) {
        /** @return blocks per column */
        int blocks() {
            return (k + blockSize - 1) / blockSize;
        }

        /** @return bytes of zero points per column */
        int zeroPointBytes() {
            return (blocks() + 1) / 2;
        }

        /**
         * Quantizes a weight.
         *
         * @param w the float weight {@code [K, N]}, row-major
         * @param k rows
         * @param n columns
         * @param blockSize rows per block
         * @param symmetric see the class comment
         * @return the packed weight
         */
        static Blockwise of(float[] w, int k, int n, int blockSize, boolean symmetric) {
            int blocks = (k + blockSize - 1) / blockSize;
            int blob = blockSize / 2;
            byte[] packed = new byte[n * blocks * blob];
            float[] scales = new float[n * blocks];
            int zpBytes = (blocks + 1) / 2;
            byte[] zeroPoints = symmetric ? null : new byte[n * zpBytes];
            int[] codes = new int[blockSize];
            for (int col = 0; col < n; col++) {
                for (int b = 0; b < blocks; b++) {
                    int rows = Math.min(blockSize, k - b * blockSize);
                    int zero;
                    float scale;
                    if (symmetric) {
                        float m = 0;
                        for (int j = 0; j < rows; j++) {
                            float v = w[(b * blockSize + j) * n + col];
                            if (Math.abs(v) > Math.abs(m)) {
                                m = v;
                            }
                        }
                        zero = 8;
                        scale = m == 0 ? 1f : m / -8f;
                        for (int j = 0; j < rows; j++) {
                            double q = Math.rint(w[(b * blockSize + j) * n + col] / (double) scale);
                            codes[j] = (int) Math.max(-8, Math.min(7, q)) + 8;
                        }
                    } else {
                        double lo = 0;
                        double hi = 0;
                        for (int j = 0; j < rows; j++) {
                            float v = w[(b * blockSize + j) * n + col];
                            lo = Math.min(lo, v);
                            hi = Math.max(hi, v);
                        }
                        QuantMath.Affine a = QuantMath.asymmetric(lo, hi, 0, 15);
                        zero = a.zeroPoint();
                        scale = a.scale();
                        for (int j = 0; j < rows; j++) {
                            codes[j] = a.quantize(w[(b * blockSize + j) * n + col], 0, 15);
                        }
                        zeroPoints[col * zpBytes + b / 2] |= (byte) (b % 2 == 0 ? zero : zero << 4);
                    }
                    Arrays.fill(codes, rows, blockSize, zero);
                    scales[col * blocks + b] = scale;
                    int base = (col * blocks + b) * blob;
                    for (int j = 0; j < blockSize; j += 2) {
                        packed[base + j / 2] = (byte) (codes[j] | codes[j + 1] << 4);
                    }
                }
            }
            return new Blockwise(k, n, blockSize, packed, scales, zeroPoints);
        }
    }

    private final Options options;

    /** With {@link Options#defaults()}. */
    public QuantizeInt4Pass() {
        this(Options.defaults());
    }

    /** @param options block size, symmetry, exclusions */
    public QuantizeInt4Pass(Options options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    /** @return the options */
    public Options options() {
        return options;
    }

    @Override
    public String id() {
        return ID;
    }

    /** @throws dev.slimnx.passes.PassRefusedException when the model already holds quantized ops */
    @Override
    public void requires(Model model) {
        QuantizedOps.refuseQuantized(ID, model);
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        Run run = new Run(model, options);
        run.graph(model.graph());
        if (run.counter.any() && model.opsetVersion(QuantizeDynamicPass.MS_DOMAIN) < 1) {
            model.setOpsetVersion(QuantizeDynamicPass.MS_DOMAIN, 1);
        }
        return run.counter.result();
    }

    /**
     * A MatMul that passed every check.
     *
     * @param node the MatMul
     * @param source the constant holding the weight (the MatMul may read it through Identity nodes)
     * @param weight the float weight {@code [K, N]}
     * @param k rows
     * @param n columns
     * @param bias the bias input, {@code [N]}, or null
     * @param biasAdd the Add whose constant became the bias, or null
     * @param replaced the value the new result takes the place of
     */
    private record Site(Node node, Value source, float[] weight, int k, int n, float[] bias, Node biasAdd,
                        Value replaced) {
    }

    /** The packed weight, scales and zero points, as values of a graph. */
    private record PackedWeight(Value packed, Value scales, Value zeroPoints) {
    }

    /** One run over a model. */
    private static final class Run {
        private final Model model;
        private final Options options;
        private final RewriteCounter counter = new RewriteCounter(ID);
        private final Map<List<Object>, PackedWeight> packed = new HashMap<>();
        private InferenceResult inferred;

        Run(Model model, Options options) {
            this.model = model;
            this.options = options;
        }

        void graph(Graph g) {
            for (Node n : List.copyOf(g.nodes())) {
                if (n.graph() != g) {
                    continue; // removed by an earlier site (a folded bias Add)
                }
                for (Graph sub : n.subgraphs()) {
                    graph(sub);
                }
                if (!n.is("MatMul") || QuantizedOps.isExcluded(n, options.excludeNodes())) {
                    continue;
                }
                Site site = site(n);
                if (site == null) {
                    LOG.log(System.Logger.Level.DEBUG, "{0}: left in float (weight not a 2-D float32 constant, "
                            + "or activation not float32 of known rank >= 2)", n.describe());
                    continue;
                }
                rewrite(site);
                counter.count("MatMul");
            }
        }

        private Site site(Node mm) {
            if (mm.inputs().size() != 2 || mm.input(0) == null || mm.input(1) == null) {
                return null;
            }
            Value source = GraphEdits.constantSource(mm.input(1));
            Tensor w = source == null ? null : GraphEdits.constant(source);
            Value x = mm.input(0);
            Shape xs = shapeOf(x);
            if (w == null || w.dataType() != DataType.FLOAT || w.rank() != 2 || w.numElements() == 0
                    || elemTypeOf(x) != DataType.FLOAT || xs == null || xs.rank() < 2) {
                return null;
            }
            int k = Math.toIntExact(w.dims()[0]);
            int n = Math.toIntExact(w.dims()[1]);
            if (xs.dim(xs.rank() - 1).isKnown() && xs.dim(xs.rank() - 1).value() != k) {
                return null;
            }
            Value y = mm.output(0);
            Node add = BiasAdds.soleBiasAdd(y, n, xs.rank());
            if (add != null) {
                return new Site(mm, source, w.toFloatArray(), k, n, BiasAdds.bias(add, y, n), add, add.output(0));
            }
            return new Site(mm, source, w.toFloatArray(), k, n, null, null, y);
        }

        private void rewrite(Site s) {
            Node node = s.node();
            Graph g = node.graph();
            PackedWeight pw = packedWeight(s);
            List<Value> inputs = new ArrayList<>(List.of(node.input(0), pw.packed(), pw.scales()));
            if (pw.zeroPoints() != null || s.bias() != null) {
                inputs.add(pw.zeroPoints());
            }
            if (s.bias() != null) {
                inputs.add(null); // g_idx, deprecated
                inputs.add(constant(g, hintOf(node) + "_bias", Tensor.ofFloats("", new long[] {s.n()}, s.bias())));
            }
            Value y = new Value(g.names().fresh(s.replaced().name() + "_q4"), typeOf(s.replaced()));
            Node nbits = new Node(QuantizeDynamicPass.MS_DOMAIN, "MatMulNBits", inputs, List.of(y), List.of(
                    Attribute.ofInt("K", s.k()), Attribute.ofInt("N", s.n()), Attribute.ofInt("bits", 4),
                    Attribute.ofInt("block_size", options.blockSize()),
                    Attribute.ofInt("accuracy_level", ACCURACY_LEVEL)));
            nbits.setName(g.names().fresh(hintOf(node) + "_int4"));
            g.insertBefore(node, nbits);
            // NOTE: cannot fail: y is a fresh node output of the replaced value's own graph
            GraphEdits.replace(s.replaced(), y);
            if (s.biasAdd() != null) {
                GraphEdits.removeNodeAndUnusedConstants(s.biasAdd());
            }
            Value weight = node.input(1);
            GraphEdits.removeNodeAndUnusedConstants(node);
            GraphEdits.removeIfUnusedThroughIdentities(weight);
            LOG.log(System.Logger.Level.DEBUG, "{0}: 4-bit weight [{1}, {2}] in blocks of {3}{4}", node.describe(),
                    s.k(), s.n(), options.blockSize(), s.biasAdd() != null ? ", bias Add folded" : "");
        }

        private PackedWeight packedWeight(Site s) {
            Graph g = s.node().graph();
            List<Object> key = List.of(g, s.source());
            PackedWeight known = packed.get(key);
            if (known != null) {
                return known;
            }
            Blockwise q = Blockwise.of(s.weight(), s.k(), s.n(), options.blockSize(), options.symmetric());
            String hint = s.source().name().isEmpty() ? "weight" : s.source().name();
            long blocks = q.blocks();
            Value b = constant(g, hint + "_int4", Tensor.ofRaw("", DataType.UINT8,
                    new long[] {s.n(), blocks, options.blockSize() / 2}, ByteBuffer.wrap(q.packed())));
            Value scales = constant(g, hint + "_scale", Tensor.ofFloats("", new long[] {s.n(), blocks}, q.scales()));
            Value zeros = q.zeroPoints() == null ? null : constant(g, hint + "_zero_point", Tensor.ofRaw("",
                    DataType.UINT8, new long[] {s.n(), q.zeroPointBytes()}, ByteBuffer.wrap(q.zeroPoints())));
            PackedWeight pw = new PackedWeight(b, scales, zeros);
            packed.put(key, pw);
            return pw;
        }

        private static String hintOf(Node n) {
            return n.name().isEmpty() ? n.opType() : n.name();
        }

        private static Value constant(Graph g, String hint, Tensor data) {
            Value v = GraphEdits.addConstant(g, hint, data);
            v.setType(ValueType.TensorType.of(data.dataType(), data.shape()));
            return v;
        }

        private Shape shapeOf(Value v) {
            Shape s = v.shape();
            return s != null ? s : inferred().shapeOf(v);
        }

        private DataType elemTypeOf(Value v) {
            DataType t = v.elemType();
            return t != null ? t : inferred().elemTypeOf(v);
        }

        private ValueType typeOf(Value v) {
            ValueType t = v.type();
            return t != null ? t : inferred().typeOf(v);
        }

        private InferenceResult inferred() {
            if (inferred == null) {
                inferred = ShapeInference.infer(model);
            }
            return inferred;
        }
    }
}
