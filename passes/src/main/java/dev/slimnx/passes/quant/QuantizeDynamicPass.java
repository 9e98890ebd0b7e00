package dev.slimnx.passes.quant;

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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@code quantize-dynamic}: MatMul and Gemm with a constant float32 weight become ONNX Runtime's
 * {@code com.microsoft:DynamicQuantizeMatMul}: the weight is stored as int8 with one scale per
 * output column, and the activation is quantized to uint8 when the model runs, from its own range.
 *
 * <h2>The math</h2>
 * For {@code Y = X·W} with {@code W[K, N]}: column {@code n} gets the scale
 * {@code s_w[n] = max_k |W[k, n]| / 64} and {@code W_q[k, n] = round(W[k, n] / s_w[n])} in [−64, 64]
 * (zero point 0, rounding half to even; an all-zero column gets scale 1). At run time the kernel
 * computes {@code s_x = (max(X, 0) − min(X, 0)) / 255} and {@code z_x = round(−min(X, 0) / s_x)} over
 * the whole input, {@code X_q = saturate(round(X / s_x) + z_x)} in uint8, and
 * {@code Y = s_x·s_w[n]·Σ_k (X_q[m, k] − z_x)·W_q[k, n] (+ bias[n])}, with the sum exact in int32.
 * Each element of {@code X_q} is within {@code s_x/2} of {@code X} and each of {@code W_q·s_w}
 * within {@code s_w[n]/2} of {@code W}, so an output element differs from the float one by at most
 * {@code Σ_k (|X[m, k]|·s_w[n]/2 + |W[k, n]|·s_x/2 + s_x·s_w[n]/4)} (plus float rounding).
 * With {@code perChannel = false} one scale {@code max |W| / 64} serves the whole weight.
 *
 * <p>NOTE: why [−64, 64] and not [−127, 127]: x86 CPUs without VNNI (AVX2) multiply uint8 by int8
 * with {@code vpmaddubsw}, which adds two neighbouring products into a saturating int16. With
 * weights up to 127 the pair sum reaches 2·255·127 = 64770 and is clamped: on a [197, 768]×[768, 3072]
 * product with uniform weights ONNX Runtime 1.23 (AVX2) returned errors of 9.9 against 1.1 with the
 * narrower range, and on the reference ViT the logits moved by 0.087 against 0.036. With 64 the pair
 * sum stays below 32767 on every CPU. (uint8 weights with zero point 128 avoid it too, but run the
 * u8×u8 kernel: 1.47× slower at batch 1 and 1.10× at batch 8 on that product.)
 *
 * <h2>Why DynamicQuantizeMatMul</h2>
 * Three forms were measured with ONNX Runtime 1.23.2 on CPU (2 intra-op threads, AVX2, a loaded
 * 2-core machine; {@code LatencyBenchmark}, interleaved, 5 to 10 s per batch size, p50; "a/b" is
 * batch 1/8, "the product" is [197, 768]×[768, 3072], the ViT-B/16 MLP's first matrix):
 * <ol>
 *   <li>pure ONNX {@code DynamicQuantizeLinear → MatMulInteger → Cast → Mul(Mul(s_x, s_w))};</li>
 *   <li>{@code com.microsoft:DynamicQuantizeMatMul} (this pass);</li>
 *   <li>QDQ: {@code DynamicQuantizeLinear → DequantizeLinear} on the activation, a per-axis
 *       {@code DequantizeLinear} on the int8 weight, float {@code MatMul}.</li>
 * </ol>
 * With graph optimizations at EXTENDED or ALL, ONNX Runtime rewrites forms 1 and 3 into form 2
 * (its {@code MatMulIntegerToFloatFusion}, QDQ selectors and {@code DynamicQuantizeMatMulFusion}):
 * the optimized graphs hold the same {@code DynamicQuantizeMatMul} nodes, and the differences were
 * within noise (form 2 against 1: 0.97×/1.01× on the product, 1.03×/0.97× on the reference ViT;
 * against 3: 1.01×/1.01× and 1.04×/0.98×). At BASIC, where those fusions do not run, form 2 is the
 * fastest: 1.19×/1.05× faster than form 1 and 3.2×/1.36× faster than form 3 on the reference ViT
 * (form 3 dequantizes the weight on every run: 3.25×/1.92× on the product). Against float at ALL,
 * form 2 is 1.81×/1.64× faster on the product and 1.15×/1.07× faster on the reference ViT (whose
 * matrices are 64 wide, so quantizing the activation costs nearly what the int8 product saves).
 * Form 2 is what ONNX Runtime executes in every case, needs no fusion to get there, and is one node
 * instead of five.
 *
 * <p>Form 1 gets a following bias {@code Add} folded in by ONNX Runtime, form 2 does not; so this
 * pass folds it itself: a MatMul whose output is read only by an {@code Add} of a constant float
 * bias of shape {@code [N]}, {@code [1]} or {@code [1, …, 1, N]} (rank at most that of the output)
 * passes the bias as the node's {@code bias} input and the Add goes too. On the reference ViT the
 * fold made form 2 1.12×/1.16× faster than without it.
 *
 * <h2>When it fires</h2>
 * <ul>
 *   <li>{@code MatMul(X, W)} (count {@code MatMul}): {@code W} a float32 constant of rank 2
 *       ({@link GraphEdits#constant}; read directly or through Identity nodes, as PyTorch exports
 *       shared weights: {@link GraphEdits#constantSource}), {@code X} float32 of known rank ≥ 2
 *       (declared or inferred; {@code [batch, tokens, dim]} included) whose last dim, when known,
 *       is {@code K}.</li>
 *   <li>{@code Gemm(A, B, C)} (count {@code Gemm}) with {@code transA = 0}, {@code B} a float32
 *       constant of rank 2 and {@code A} float32: the weight is {@code α·B} or {@code α·Bᵀ}
 *       ({@code transB = 1}); a constant {@code C} that is the same for every row (shape {@code []},
 *       {@code [1]}, {@code [N]}, {@code [1, 1]} or {@code [1, N]}) becomes the bias {@code β·C}; any
 *       other constant {@code C} (e.g. {@code [M, N]}) is added by an {@code Add} of the constant
 *       {@code β·C} after the node; a computed {@code C} is added by an {@code Add} when
 *       {@code β = 1}.</li>
 * </ul>
 * The op type must be in {@link Options#opTypes()}, and neither the node's name nor its op type in
 * {@link Options#excludeNodes()}.
 *
 * <h2>When it does not</h2>
 * A site stays float when the weight is not a constant (a graph input, a computed value), not
 * float32 or not 2-D, has a zero dim; when the activation is not float32 or its rank is unknown or
 * below 2; for Gemm with {@code transA = 1}, or a computed {@code C} with {@code β ≠ 1}. Every check
 * of a site is made before its first change. Subgraphs are visited too (new constants go into the
 * node's own graph). A weight read by several quantized nodes is quantized once per graph; the float
 * weights, bias constants and Identity nodes nothing reads any more are removed, so the model
 * shrinks (a weight that a node left in float still reads stays). The model gets the
 * {@code com.microsoft} opset import (version 1) when anything changed.
 *
 * <p>{@link #requires} refuses a model that already holds quantized ops ({@link QuantizedOps}), this
 * pass's own output included: quantizing twice is refused, not a silent no-op.
 */
public final class QuantizeDynamicPass implements Pass {
    /** The pass id. */
    public static final String ID = "quantize-dynamic";

    /** The op types this pass can quantize. */
    public static final Set<String> SUPPORTED_OP_TYPES = Set.of("MatMul", "Gemm");

    /** How the CLI and recipes find this pass. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "int8 per-channel weights with activations quantized at run time (com.microsoft:DynamicQuantizeMatMul) "
                    + "for MatMul and Gemm with constant weights",
            false,
            List.of(new PassOption("op-types", "op types to quantize, comma-separated (MatMul, Gemm)", "MatMul,Gemm"),
                    new PassOption("per-channel", "one weight scale per output column (false: one per weight)", "true"),
                    new PassOption("exclude", "node names or op types to leave in float, comma-separated", "")),
            o -> new QuantizeDynamicPass(new Options(QuantizedOps.names(o.string("op-types")),
                    o.booleanValue("per-channel"), QuantizedOps.names(o.string("exclude")))));

    /** Largest weight code: see the NOTE in the class comment. */
    private static final int QMAX = QuantMath.INT8_REDUCED_MAX;

    /** The domain of ONNX Runtime's contrib ops. */
    static final String MS_DOMAIN = "com.microsoft";

    private static final System.Logger LOG = System.getLogger(QuantizeDynamicPass.class.getName());

    /**
     * Options of {@code quantize-dynamic}.
     *
     * @param opTypes the op types to quantize: a non-empty subset of {@link #SUPPORTED_OP_TYPES}
     * @param perChannel one weight scale per output column (true) or per weight (false)
     * @param excludeNodes node names or op types left in float (may be empty)
     */
    public record Options(Set<String> opTypes, boolean perChannel, Set<String> excludeNodes) {
        /**
         * @throws NullPointerException if a set is null or holds null
         * @throws IllegalArgumentException if opTypes is empty or names an unsupported op type, or
         *     excludeNodes holds a blank name
         */
        public Options {
            opTypes = Set.copyOf(Objects.requireNonNull(opTypes, "opTypes"));
            excludeNodes = Set.copyOf(Objects.requireNonNull(excludeNodes, "excludeNodes"));
            if (opTypes.isEmpty()) {
                throw new IllegalArgumentException("op-types must name at least one of MatMul, Gemm");
            }
            for (String op : opTypes) {
                if (!SUPPORTED_OP_TYPES.contains(op)) {
                    throw new IllegalArgumentException("op-types: '" + op
                            + "' is not supported; supported: MatMul, Gemm");
                }
            }
            if (excludeNodes.stream().anyMatch(String::isBlank)) {
                throw new IllegalArgumentException("exclude: node names and op types must not be blank");
            }
        }

        /** @return MatMul and Gemm, per-channel, nothing excluded */
        public static Options defaults() {
            return new Options(SUPPORTED_OP_TYPES, true, Set.of());
        }
    }

    private final Options options;

    /** With {@link Options#defaults()}. */
    public QuantizeDynamicPass() {
        this(Options.defaults());
    }

    /** @param options which nodes, and the scale granularity */
    public QuantizeDynamicPass(Options options) {
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
        if (run.counter.any() && model.opsetVersion(MS_DOMAIN) < 1) {
            model.setOpsetVersion(MS_DOMAIN, 1);
        }
        return run.counter.result();
    }

    /**
     * One MatMul or Gemm that passed every check.
     *
     * @param node the MatMul or Gemm
     * @param weight the float weight it multiplies by, {@code [K, N]} row-major, α applied
     * @param k rows of the weight
     * @param n columns of the weight
     * @param key what the quantized weight is made from (to share it between nodes)
     * @param bias the bias input, {@code [N]}, or null
     * @param biasAdd a following Add whose constant became the bias, or null
     * @param addend a Gemm's C added by a new Add after the node: a Tensor (constant β·C) or a Value
     *     (computed C, β = 1), or null
     * @param replaced the value the new result takes the place of
     */
    private record Site(Node node, float[] weight, int k, int n, WeightKey key, float[] bias, Node biasAdd,
                        Object addend, Value replaced) {
    }

    /**
     * A quantized weight is shared by the nodes of one graph that read the same weight (directly or
     * through Identity nodes) the same way.
     */
    private record WeightKey(Graph graph, Value source, boolean transposed, float alpha) {
    }

    /** The int8 weight and its scales, as values of a graph. */
    private record QuantizedWeight(Value values, Value scales) {
    }

    /** One run over a model. */
    private static final class Run {
        private final Model model;
        private final Options options;
        private final RewriteCounter counter = new RewriteCounter(ID);
        private final Map<WeightKey, QuantizedWeight> quantized = new HashMap<>();
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
                if (!n.isOnnxDomain() || !options.opTypes().contains(n.opType())
                        || QuantizedOps.isExcluded(n, options.excludeNodes())) {
                    continue;
                }
                Site site = n.is("MatMul") ? matMulSite(n) : n.is("Gemm") ? gemmSite(n) : null;
                if (site == null) {
                    LOG.log(System.Logger.Level.DEBUG, "{0}: left in float (weight not a 2-D float32 constant, "
                            + "activation not float32 of known rank >= 2, or Gemm with transA)", n.describe());
                    continue;
                }
                rewrite(site);
                counter.count(n.opType());
            }
        }

        // ---- checks (nothing changes here) ----

        private Site matMulSite(Node mm) {
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
            WeightKey key = new WeightKey(mm.graph(), source, false, 1f);
            Value y = mm.output(0);
            Node add = BiasAdds.soleBiasAdd(y, n, xs.rank());
            if (add != null) {
                return new Site(mm, w.toFloatArray(), k, n, key, BiasAdds.bias(add, y, n), add, null, add.output(0));
            }
            return new Site(mm, w.toFloatArray(), k, n, key, null, null, null, y);
        }

        private Site gemmSite(Node gemm) {
            if (gemm.inputs().size() < 2 || gemm.input(0) == null || gemm.input(1) == null
                    || gemm.intAttr("transA", 0) != 0) {
                return null;
            }
            Value a = gemm.input(0);
            Value source = GraphEdits.constantSource(gemm.input(1));
            Tensor b = source == null ? null : GraphEdits.constant(source);
            Shape as = shapeOf(a);
            if (b == null || b.dataType() != DataType.FLOAT || b.rank() != 2 || b.numElements() == 0
                    || elemTypeOf(a) != DataType.FLOAT || (as != null && as.rank() != 2)) {
                return null;
            }
            boolean transB = gemm.intAttr("transB", 0) != 0;
            float alpha = gemm.floatAttr("alpha", 1f);
            float beta = gemm.floatAttr("beta", 1f);
            int k = Math.toIntExact(transB ? b.dims()[1] : b.dims()[0]);
            int n = Math.toIntExact(transB ? b.dims()[0] : b.dims()[1]);
            if (as != null && as.dim(1).isKnown() && as.dim(1).value() != k) {
                return null;
            }
            Value c = gemm.inputs().size() > 2 ? gemm.input(2) : null;
            float[] bias = null;
            Object addend = null;
            if (c != null) {
                Tensor ct = GraphEdits.constant(c);
                if (ct != null) {
                    if (ct.dataType() != DataType.FLOAT || ct.rank() > 2) {
                        return null;
                    }
                    float[] cv = BiasAdds.alongLastAxis(ct, n);
                    if (cv != null) {
                        bias = scaled(cv, beta);
                    } else {
                        addend = Tensor.ofFloats("", ct.dims(), scaled(ct.toFloatArray(), beta));
                    }
                } else if (beta == 1f && elemTypeOf(c) == DataType.FLOAT) {
                    addend = c;
                } else {
                    return null;
                }
            }
            float[] w = weightOf(b.toFloatArray(), k, n, transB, alpha);
            WeightKey key = new WeightKey(gemm.graph(), source, transB, alpha);
            return new Site(gemm, w, k, n, key, bias, null, addend, gemm.output(0));
        }

        private static float[] scaled(float[] v, float factor) {
            if (factor == 1f) {
                return v;
            }
            float[] out = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = (float) ((double) factor * v[i]);
            }
            return out;
        }

        /** @return {@code α·B} ({@code [K, N]}) or {@code α·Bᵀ} when B is stored {@code [N, K]} */
        private static float[] weightOf(float[] b, int k, int n, boolean transposed, float alpha) {
            if (!transposed) {
                return scaled(b, alpha);
            }
            float[] w = new float[k * n];
            for (int row = 0; row < n; row++) {
                for (int col = 0; col < k; col++) {
                    w[col * n + row] = (float) ((double) alpha * b[row * k + col]);
                }
            }
            return w;
        }

        // ---- the rewrite ----

        private void rewrite(Site s) {
            Node node = s.node();
            Graph g = node.graph();
            QuantizedWeight qw = quantizedWeight(s);
            List<Value> inputs = new ArrayList<>(List.of(node.input(0), qw.values(), qw.scales()));
            if (s.bias() != null) {
                inputs.add(null); // no weight zero point: symmetric
                inputs.add(constant(g, hintOf(node) + "_bias", Tensor.ofFloats("", new long[] {s.n()}, s.bias())));
            }
            Value y = new Value(g.names().fresh(s.replaced().name() + "_dq"), typeOf(s.replaced()));
            Node dq = new Node(MS_DOMAIN, "DynamicQuantizeMatMul", inputs, List.of(y), List.of());
            dq.setName(g.names().fresh(hintOf(node) + "_dynamic_quant"));
            g.insertBefore(node, dq);
            Value result = y;
            if (s.addend() != null) {
                Value addend = s.addend() instanceof Tensor t
                        ? constant(g, hintOf(node) + "_c", t)
                        : (Value) s.addend();
                result = new Value(g.names().fresh(s.replaced().name() + "_sum"), typeOf(s.replaced()));
                Node add = new Node("", "Add", List.of(y, addend), List.of(result), List.of());
                add.setName(g.names().fresh(hintOf(node) + "_add_c"));
                g.insertAfter(dq, add);
            }
            // NOTE: cannot fail: the result is a fresh node output of the replaced value's own graph
            GraphEdits.replace(s.replaced(), result);
            if (s.biasAdd() != null) {
                GraphEdits.removeNodeAndUnusedConstants(s.biasAdd());
            }
            Value weight = node.input(1);
            GraphEdits.removeNodeAndUnusedConstants(node);
            GraphEdits.removeIfUnusedThroughIdentities(weight);
            LOG.log(System.Logger.Level.DEBUG, "{0}: int8 weight [{1}, {2}]{3}", node.describe(), s.k(), s.n(),
                    s.biasAdd() != null ? ", bias Add folded" : "");
        }

        private QuantizedWeight quantizedWeight(Site s) {
            QuantizedWeight known = quantized.get(s.key());
            if (known != null) {
                return known;
            }
            Graph g = s.node().graph();
            long[] dims = {s.k(), s.n()};
            float[] scales;
            byte[] values;
            if (options.perChannel()) {
                QuantMath.PerChannel pc = QuantMath.symmetricPerChannel(s.weight(), dims, 1, QMAX);
                scales = pc.scales();
                values = pc.values();
            } else {
                double maxAbs = 0;
                for (float v : s.weight()) {
                    maxAbs = Math.max(maxAbs, Math.abs(v));
                }
                QuantMath.Affine a = QuantMath.symmetric(maxAbs, QMAX);
                scales = new float[] {a.scale()};
                values = new byte[s.weight().length];
                for (int i = 0; i < values.length; i++) {
                    values[i] = (byte) a.quantize(s.weight()[i], -QMAX, QMAX);
                }
            }
            String hint = s.key().source().name().isEmpty() ? "weight" : s.key().source().name();
            Value q = constant(g, hint + "_int8", Tensor.ofRaw("", DataType.INT8, dims, ByteBuffer.wrap(values)));
            Value sc = constant(g, hint + "_scale", Tensor.ofFloats("",
                    options.perChannel() ? new long[] {s.n()} : new long[0], scales));
            QuantizedWeight qw = new QuantizedWeight(q, sc);
            quantized.put(s.key(), qw);
            return qw;
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
