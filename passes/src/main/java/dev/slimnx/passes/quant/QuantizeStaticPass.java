package dev.slimnx.passes.quant;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassOptions;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassResult;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Static INT8 quantization in QDQ form: each chosen MatMul, Gemm and Conv reads its activations
 * through a {@code QuantizeLinear → DequantizeLinear} pair whose scale comes from calibration, and
 * its constant weight as int8 values behind a {@code DequantizeLinear}. ONNX Runtime fuses those
 * groups into integer kernels; the model stays a valid float model for any other runtime.
 *
 * <h2>The math</h2>
 * <ul>
 *   <li><b>Activations</b>, per tensor and asymmetric: the calibrated range [min, max]
 *       ({@link Calibration}, {@link CalibrationMethod}) is widened to include 0, and
 *       {@code scale = (max − min)/(qmax − qmin)}, {@code zero_point = round(qmin − min/scale)}
 *       with [qmin, qmax] = [0, 255] for uint8 (the default) or [−128, 127] for int8; 0 is exact
 *       ({@link QuantMath#asymmetric}).</li>
 *   <li><b>Weights</b>, symmetric int8 with zero point 0: channel {@code c} along the output-channel
 *       axis (Conv {@code W[M, C/g, k…]}: axis 0; MatMul {@code B[K, N]}: axis 1; Gemm {@code B}:
 *       axis 1, or 0 with {@code transB = 1}) gets {@code s[c] = max|W[c]| / Q} and
 *       {@code q = round(W/s[c])} in [−Q, Q] ({@link QuantMath#symmetricPerChannel}); one scale
 *       for the whole tensor when {@code perChannel} is false. Q = 64 by default (reduced range),
 *       127 without it.</li>
 *   <li><b>Biases</b> of Conv and Gemm, int32 with zero point 0 and scale
 *       {@code s_x·s[c]} (float32 product): {@code b_q[c] = round(b[c]/(s_x·s[c]))}. That is the
 *       scale of the int32 accumulator {@code Σ q_x·q_w}, so ONNX Runtime adds the bias to it as
 *       it is.</li>
 *   <li><b>Error</b>: inside the calibrated range a dequantized activation is off by at most
 *       {@code s_x/2} and a weight by {@code s[c]/2}, so one output of a MatMul over K terms is off
 *       by at most {@code Σ_k (|x_k|·s[c]/2 + |w_k|·s_x/2 + s_x·s[c]/4)}, plus {@code s_x·s[c]/2}
 *       for a rounded bias; outputs that go through a pair (a Conv's) add half their own scale.</li>
 * </ul>
 *
 * <h2>What ONNX Runtime runs (1.23.2, CPU; checked on its optimized models)</h2>
 * <ul>
 *   <li>{@code DQ(x), DQ(B) → MatMul} becomes {@code MatMulIntegerToFloat}: integer product,
 *       float output. MatMul outputs therefore get no pair of their own: in PyTorch exports they
 *       feed a float bias Add, and a pair would only add a rounding (a QLinearMatMul forms by
 *       itself where the next site's pair follows directly).</li>
 *   <li>{@code DQ(x), DQ(B), DQ(C) → Gemm} becomes {@code QGemm} with a float output.</li>
 *   <li>{@code DQ(x), DQ(W), DQ(b) → Conv → Q} becomes {@code QLinearConv}, which needs the pair
 *       on the output: a Conv's output gets one, and every reader of the output reads through it.
 *       When a Relu alone reads the Conv, the pair goes after the Relu: its range starts at 0, the
 *       zero point is qmin and ONNX Runtime folds the Relu into the QLinearConv.</li>
 *   <li>The reference ViT (after the lossless pipeline) runs 24 MatMulIntegerToFloat, 1 QGemm,
 *       1 QLinearConv; EfficientViT 52 QLinearConv and 1 QGemm.</li>
 * </ul>
 *
 * <h2>Choices, measured on the reference models (top-1 on the first 2000 test images, 512
 * calibration images, ONNX Runtime with all optimizations, AMD EPYC with AVX2 and no VNNI)</h2>
 * <ul>
 *   <li>NOTE: weights use the reduced range [−64, 64] by default. ONNX Runtime's u8s8 kernels
 *       on x86 without VNNI add pairs of uint8 × int8 products in int16 with saturation
 *       ({@code vpmaddubsw}, 2·255·127 > 32767): with [−127, 127] EfficientViT lost 2.55 points
 *       (89.55 → 87.00; the same model run without ONNX Runtime's fusions: 89.25), with
 *       [−64, 64] none. Set {@code reduceRange} false for ARM or VNNI targets.</li>
 *   <li>NOTE: uint8 activations by default: int8 activations gave the same accuracy, but ONNX
 *       Runtime left 4 of EfficientViT's 52 Convs unfused and added layout Transposes, and
 *       EfficientViT ran at 0.76–0.78× of float (uint8: 0.98–1.03×; ViT alike either way).</li>
 *   <li>NOTE: the attention MatMuls (Q·Kᵀ and attn·V, two activations) stay float by default:
 *       quantized, each call needs two QuantizeLinear for a product of 17×16 by 16×17 per head,
 *       and the models ran slower at the same accuracy (speed-up of the p50 latency over float,
 *       one thread, without / with them: ViT batch 1 1.04× / 0.97×, batch 16 1.15× / 1.09×;
 *       EfficientViT batch 1 1.00× / 0.86×, batch 16 1.00× / 0.88×). {@code attentionMatMuls}
 *       turns them on (both inputs per tensor).</li>
 *   <li>NOTE: MinMax calibration by default. Top-1 drop on ViT / EfficientViT: minmax 0.00 /
 *       −0.15 points, percentile 99.999 0.15 / 0.15, entropy 1.00 / 11.45. Entropy is misled by
 *       spikes: the background pixel of Fashion-MNIST is most of the input, so the KL optimum
 *       clips the foreground.</li>
 *   <li>NOTE: the new Q/DQ nodes are unnamed and their values and constants have short names
 *       ({@code x3_scale}, {@code w3_q}): on these small models the graph's text is a large part
 *       of what remains after the weights shrink fourfold.</li>
 * </ul>
 *
 * <h2>When it does not fire</h2>
 * The whole model is refused ({@link #requires}) when it already holds quantized ops
 * (QuantizeLinear, DequantizeLinear, QLinear*, MatMulInteger, DynamicQuantizeLinear, QGemm, …),
 * imports the default domain below opset 13 (per-channel DequantizeLinear needs its
 * {@code axis}), or when no calibration data was given. A node is left in float when it is in a
 * subgraph, its op type is not in {@code opTypes} or its name or op type is in
 * {@code excludeNodes}; when an activation input is a constant or not float32 (declared or
 * inferred); when the weight is not a float32 constant of finite values (MatMul and Gemm: rank 2;
 * Conv: rank 3 or more) or is the first MatMul input; for a Gemm with {@code alpha ≠ 1},
 * {@code transB} other than 0 or 1, or a C that is not constant, not N values (or one), or comes
 * with {@code beta ≠ 1}; for a Conv bias that is not a float32 constant [M]; for a MatMul of two
 * activations unless {@code attentionMatMuls}; and when a bias would not fit int32. Ops between
 * sites (LayerNorm, Softmax, GELU, residual Adds, Reshape…) stay float. A Conv whose output is a
 * graph output gets no output pair, so it runs as a float Conv on dequantized inputs. Each site
 * is rewritten completely or not at all; one pair serves every site reading a value, one
 * DequantizeLinear every site reading a weight; float constants left unused are removed.
 *
 * <p>The result counts sites per kind ({@code MatMul}, {@code MatMul of activations},
 * {@code Gemm}, {@code Conv}) and gives the bytes of the quantized float constants before and of
 * their quantized form (values, scales, zero points) after, as {@value #BYTES_BEFORE} and
 * {@value #BYTES_AFTER}. A second run is refused, since the model then holds QDQ nodes.
 */
public final class QuantizeStaticPass implements Pass {
    /** The pass id. */
    public static final String ID = "quantize-static";

    /** The op types the pass can quantize. */
    public static final Set<String> SUPPORTED_OP_TYPES = Collections.unmodifiableSet(
            new LinkedHashSet<>(List.of("MatMul", "Gemm", "Conv")));

    /** Result key: bytes of the float weights and biases that were quantized. */
    public static final String BYTES_BEFORE = "weight bytes before";
    /** Result key: bytes of their quantized values, scales and zero points. */
    public static final String BYTES_AFTER = "weight bytes after";

    /** Op types that mark a model as quantized already. */
    private static final Set<String> QUANTIZED_OP_TYPES = Set.of("QuantizeLinear", "DequantizeLinear",
            "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv",
            "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "QGemm", "MatMulNBits", "QAttention",
            "DynamicQuantizeLSTM", "QLinearAdd", "QLinearMul", "QLinearSoftmax", "QLinearSigmoid",
            "QLinearLeakyRelu", "QLinearConcat", "QLinearAveragePool", "QLinearGlobalAveragePool",
            "QLinearReduceMean", "QLinearWhere");

    private static final System.Logger LOG = System.getLogger(QuantizeStaticPass.class.getName());

    /**
     * What to quantize and how to calibrate.
     *
     * @param data the calibration batches, feeds by graph input name; null only to describe the
     *     options ({@link #quantizableNodes}, the CLI's option listing): a pass without data
     *     refuses to run
     * @param calibBatches batches of {@code data} read, 0 for all
     * @param method how calibration picks each activation's range
     * @param percentile for {@link CalibrationMethod#PERCENTILE}, in (0, 100]
     * @param perChannel true: one weight scale per output channel; false: one per tensor
     * @param activationsUint8 true: uint8 activations; false: int8 (asymmetric either way)
     * @param opTypes which of MatMul, Gemm, Conv to quantize
     * @param excludeNodes node names or op types kept in float
     * @param reduceRange true: weights in [−64, 64], exact with ONNX Runtime on every x86 CPU;
     *     false: [−127, 127], for ARM and x86 CPUs with VNNI
     * @param attentionMatMuls true: MatMuls of two activations (attention's Q·Kᵀ and attn·V) are
     *     quantized too, both inputs per tensor
     */
    public record Options(CalibrationData data, int calibBatches, CalibrationMethod method, double percentile,
                          boolean perChannel, boolean activationsUint8, Set<String> opTypes,
                          Set<String> excludeNodes, boolean reduceRange, boolean attentionMatMuls) {
        /** @throws IllegalArgumentException for a bad value, naming it */
        public Options {
            Objects.requireNonNull(method, "method");
            Objects.requireNonNull(opTypes, "opTypes");
            Objects.requireNonNull(excludeNodes, "excludeNodes");
            if (calibBatches < 0) {
                throw new IllegalArgumentException("calib-batches must be 0 (all) or more, got " + calibBatches);
            }
            if (!(percentile > 0 && percentile <= 100)) {
                throw new IllegalArgumentException("percentile must be in (0, 100], got " + percentile);
            }
            if (opTypes.isEmpty()) {
                throw new IllegalArgumentException("ops must name at least one of "
                        + String.join(", ", SUPPORTED_OP_TYPES));
            }
            for (String op : opTypes) {
                if (!SUPPORTED_OP_TYPES.contains(op)) {
                    throw new IllegalArgumentException("cannot quantize op type '" + op + "'; supported: "
                            + String.join(", ", SUPPORTED_OP_TYPES));
                }
            }
            opTypes = Collections.unmodifiableSet(new LinkedHashSet<>(opTypes));
            excludeNodes = Collections.unmodifiableSet(new LinkedHashSet<>(excludeNodes));
        }

        /**
         * With reduced-range weights and the attention MatMuls in float (the defaults).
         *
         * @throws IllegalArgumentException for a bad value, naming it
         */
        public Options(CalibrationData data, int calibBatches, CalibrationMethod method, double percentile,
                       boolean perChannel, boolean activationsUint8, Set<String> opTypes, Set<String> excludeNodes) {
            this(data, calibBatches, method, percentile, perChannel, activationsUint8, opTypes, excludeNodes, true,
                    false);
        }

        /**
         * @param data the calibration batches
         * @return every batch, MinMax calibration, per-channel reduced-range weights, uint8
         *     activations, MatMul, Gemm and Conv, nothing excluded, attention MatMuls in float
         */
        public static Options defaults(CalibrationData data) {
            return new Options(data, 0, CalibrationMethod.MINMAX, CalibrationOptions.DEFAULT_PERCENTILE, true, true,
                    SUPPORTED_OP_TYPES, Set.of(), true, false);
        }

        /** @return {@link #defaults(CalibrationData)} without data: for describing, not for running */
        public static Options defaults() {
            return defaults(null);
        }

        /** @return these options with other calibration data */
        public Options withData(CalibrationData newData) {
            return new Options(newData, calibBatches, method, percentile, perChannel, activationsUint8, opTypes,
                    excludeNodes, reduceRange, attentionMatMuls);
        }

        /** @return these options with another calibration method */
        public Options withMethod(CalibrationMethod newMethod) {
            return new Options(data, calibBatches, newMethod, percentile, perChannel, activationsUint8, opTypes,
                    excludeNodes, reduceRange, attentionMatMuls);
        }

        /** @return these options keeping these node names or op types in float as well */
        public Options withExcluded(Set<String> more) {
            Set<String> all = new LinkedHashSet<>(excludeNodes);
            all.addAll(more);
            return new Options(data, calibBatches, method, percentile, perChannel, activationsUint8, opTypes, all,
                    reduceRange, attentionMatMuls);
        }

        /** @return these options with the full or the reduced weight range */
        public Options withReduceRange(boolean reduce) {
            return new Options(data, calibBatches, method, percentile, perChannel, activationsUint8, opTypes,
                    excludeNodes, reduce, attentionMatMuls);
        }

        /** @return these options with the attention MatMuls quantized or not */
        public Options withAttentionMatMuls(boolean quantize) {
            return new Options(data, calibBatches, method, percentile, perChannel, activationsUint8, opTypes,
                    excludeNodes, reduceRange, quantize);
        }

        /** @return the calibration settings these options stand for */
        public CalibrationOptions calibration() {
            return CalibrationOptions.of(method).withPercentile(percentile).withMaxBatches(calibBatches);
        }

        /** @return UINT8 or INT8 */
        public DataType activationType() {
            return activationsUint8 ? DataType.UINT8 : DataType.INT8;
        }

        static Options parse(PassOptions o, CalibrationData data) {
            String type = o.string("activation-type").strip().toLowerCase(Locale.ROOT);
            if (!type.equals("uint8") && !type.equals("int8")) {
                throw new IllegalArgumentException("pass " + ID + " option activation-type: '" + type
                        + "' is not uint8 or int8");
            }
            long batches = o.longValue("calib-batches");
            if (batches > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("pass " + ID + " option calib-batches: " + batches + " is too large");
            }
            return new Options(data, (int) batches, CalibrationMethod.parse(o.string("method")),
                    o.doubleValue("percentile"), o.booleanValue("per-channel"), type.equals("uint8"),
                    list(o.string("ops")), list(o.string("exclude")), o.booleanValue("reduce-range"),
                    o.booleanValue("attention-matmuls"));
        }

        private static Set<String> list(String text) {
            return Arrays.stream(text.split(",")).map(String::strip).filter(s -> !s.isEmpty())
                    .collect(Collectors.toCollection(LinkedHashSet::new));
        }
    }

    private static final List<PassOption> OPTIONS = List.of(
            new PassOption("method", "calibration method: minmax, percentile or entropy", "minmax"),
            new PassOption("percentile", "for method percentile: the share of values kept, in percent",
                    String.valueOf(CalibrationOptions.DEFAULT_PERCENTILE)),
            new PassOption("per-channel", "one weight scale per output channel (false: one per tensor)", "true"),
            new PassOption("activation-type", "activations as uint8 or int8 (asymmetric either way)", "uint8"),
            new PassOption("ops", "op types to quantize, comma-separated, of MatMul, Gemm, Conv", "MatMul,Gemm,Conv"),
            new PassOption("exclude", "node names or op types kept in float, comma-separated", ""),
            new PassOption("calib-batches", "calibration batches read, 0 for all", "0"),
            new PassOption("reduce-range", "weights in [-64, 64], exact on x86 without VNNI (false: [-127, 127])",
                    "true"),
            new PassOption("attention-matmuls", "also quantize MatMuls of two activations (Q·Kᵀ, attn·V)", "false"));

    /**
     * How the CLI and recipes find this pass. Calibration data cannot be given as text, so its
     * factory checks the option values and then throws IllegalArgumentException saying so: build
     * the pass with {@link #descriptor(CalibrationData)}{@code .create(options)} or
     * {@link #QuantizeStaticPass(Options)}.
     */
    public static final PassDescriptor DESCRIPTOR = describe(null);

    private final Options options;

    /** With {@link Options#defaults()}: it has no calibration data, so it refuses to run. */
    public QuantizeStaticPass() {
        this(Options.defaults());
    }

    /** @param options what to quantize, and the calibration data */
    public QuantizeStaticPass(Options options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    /**
     * @param data the calibration data of every pass the descriptor builds
     * @return a descriptor like {@link #DESCRIPTOR} (same id and options) whose factory builds
     *     passes that read {@code data}
     */
    public static PassDescriptor descriptor(CalibrationData data) {
        return describe(Objects.requireNonNull(data, "data"));
    }

    private static PassDescriptor describe(CalibrationData data) {
        return new PassDescriptor(ID, "static INT8 quantization (QDQ) of MatMul, Gemm and Conv, activation ranges "
                + "from calibration", false, OPTIONS, o -> {
                    Options parsed = Options.parse(o, data);
                    if (data == null) {
                        throw new IllegalArgumentException("pass " + ID + " needs calibration data, which text "
                                + "options cannot carry: build it with QuantizeStaticPass.descriptor(data)");
                    }
                    return new QuantizeStaticPass(parsed);
                });
    }

    @Override
    public String id() {
        return ID;
    }

    /** @return the options */
    public Options options() {
        return options;
    }

    /**
     * @throws PassRefusedException when the model already holds quantized ops, imports the default
     *     domain below opset 13, or the options carry no calibration data
     */
    @Override
    public void requires(Model model) {
        Set<String> found = new TreeSet<>();
        for (Node n : model.graph().allNodes()) {
            if (QUANTIZED_OP_TYPES.contains(n.opType())) {
                found.add(n.opType());
            }
        }
        if (!found.isEmpty()) {
            throw new PassRefusedException(ID, "model is already quantized (has " + String.join(", ", found)
                    + " nodes)");
        }
        long opset = model.opsetVersion("");
        if (opset < 13) {
            throw new PassRefusedException(ID, "needs opset 13 or later (per-channel DequantizeLinear); the model "
                    + "imports opset " + opset);
        }
        if (options.data() == null) {
            throw new PassRefusedException(ID, "calibration data is required (Options.data is null)");
        }
    }

    /**
     * The nodes this pass would quantize with these options, in graph order. Unnamed candidates
     * (every MatMul, Gemm and Conv of the main graph that fits, whatever the options choose) are
     * named first, {@code graph.names().fresh(opType)} in graph order but never the bare op type
     * ({@code MatMul_1}, {@code MatMul_2}, …), so a model gets the same names however often it is
     * asked, and a name in {@link Options#excludeNodes} means that node alone.
     *
     * @param model the model; unnamed candidates get names, nothing else changes
     * @param options op types and exclusions (the data is not read)
     * @return the nodes
     */
    public static List<Node> quantizableNodes(Model model, Options options) {
        return chosen(model, options).stream().map(StaticSite::node).toList();
    }

    private static List<StaticSite> chosen(Model model, Options options) {
        List<StaticSite> out = new ArrayList<>();
        for (StaticSite s : StaticSiteFinder.find(model)) {
            Node n = s.node();
            if (options.opTypes().contains(n.opType()) && !options.excludeNodes().contains(n.name())
                    && !options.excludeNodes().contains(n.opType())
                    && (s.kind() != StaticSite.Kind.ACTIVATION_MATMUL || options.attentionMatMuls())) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * Calibrates the activations of the chosen sites (nothing changes before it is done), then
     * rewrites them.
     *
     * @throws IllegalArgumentException when the calibration data has no batch or lacks an input
     * @throws dev.slimnx.runtime.RuntimeFailure when ONNX Runtime cannot run the model on the data
     */
    @Override
    public PassResult run(Model model, PassContext context) {
        List<StaticSite> sites = chosen(model, options);
        if (sites.isEmpty()) {
            return PassResult.unchanged(ID);
        }
        Set<Value> calibrated = Collections.newSetFromMap(new IdentityHashMap<>());
        for (StaticSite s : sites) {
            calibrated.addAll(s.activations());
            if (s.output() != null) {
                calibrated.add(s.output());
            }
        }
        Map<String, Range> ranges = Calibration.collect(model, calibrated.stream().map(Value::name).toList(),
                options.data(), options.calibration(), context);
        int qmin = options.activationsUint8() ? 0 : -128;
        int qmax = options.activationsUint8() ? 255 : 127;
        Map<Value, QuantMath.Affine> affine = new IdentityHashMap<>();
        for (Value v : calibrated) {
            affine.put(v, ranges.get(v.name()).affine(qmin, qmax));
        }
        PassResult result = new StaticRewriter(options, affine).rewrite(model, sites);
        LOG.log(System.Logger.Level.INFO, "{0}: {1}", ID, result.summary());
        return result;
    }
}
