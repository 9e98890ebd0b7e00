package dev.slimnx.passes.quant;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.ConstantNode;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorData;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code convert-fp16}: stores every float32 weight as float16 and computes in float16 wherever
 * ONNX Runtime's CPU provider has a float16 kernel, keeping the rest in float32 with {@code Cast}
 * nodes at the borders. Lossy: a float16 has an 11-bit significand, so every converted value is
 * off by at most a relative {@code u = 2^-11} (round to nearest even), and values of magnitude
 * above 65504 do not exist.
 *
 * <h2>What it rewrites</h2>
 * <ul>
 *   <li><b>Weights</b>: every float32 initializer (not a graph input) and every {@code Constant}
 *       node holding a float32 tensor ({@code value}, {@code value_float}, {@code value_floats})
 *       becomes float16, rounded to nearest even ({@link Float#floatToFloat16}). A finite value
 *       with {@code |x| > 65504} would round to infinity; it is clamped to ±65504 first and counted
 *       ({@code clamped values}). Infinities and NaN stay what they are (an attention mask of
 *       {@code -inf} keeps its meaning). A non-zero value below half the smallest subnormal
 *       (about 2.98e-8) becomes ±0; it is left to the rounding and counted
 *       ({@code values flushed to zero}). Weights are float16 even where their reader computes
 *       in float32: that halves the file, and one shared {@code Cast} to float32 serves them.</li>
 *   <li><b>Compute</b>: each node gets one of four roles.
 *     <ul>
 *       <li><i>float16</i>: an op with a float16 kernel that computes something
 *           ({@link #FLOAT16_COMPUTE_OPS}: LayerNormalization, ...). Its float inputs and outputs
 *           are float16.</li>
 *       <li><i>follows</i>: an op with a float16 kernel that only moves or selects values
 *           ({@link #FLOAT16_EXACT_OPS}: Reshape, Transpose, Concat, Gather, Slice, Split, Max,
 *           Clip, ...), plus {@code Cast} to float and {@code ConstantOfShape}. For these
 *           {@code f(round16(x)) = round16(f(x))} (rounding is monotonic, and moving a value does
 *           not change it), so computing them in float16 gains nothing in accuracy; it only pays
 *           when it saves Casts. A connected group of such nodes (joined through the values one
 *           produces and another reads) takes the type that needs fewer Casts at its border
 *           (distinct value and type pairs), float16 on a tie. Without this, a Reshape between
 *           two float32 MatMuls would get a Cast to float16 before and one back after: two
 *           passes over the tensor and a rounding, for nothing.</li>
 *       <li><i>type-blind</i>: {@code Shape} and {@code Cast} to a non-float type read either
 *           float type as they are.</li>
 *       <li><i>float32</i>: everything else, including ops outside the default domain, nodes
 *           listed in {@link Options#excludeNodes()}, op types in {@link Options#blockOps()},
 *           nodes whose input or output types shape inference cannot tell, a
 *           LayerNormalization whose Mean/InvStdDev outputs are read (they stay float32 by the
 *           schema), and every node of a model whose default opset is below 13 (the kernel table
 *           below was measured at opsets 13, 17 and 21).</li>
 *     </ul>
 *   </li>
 *   <li><b>Casts</b>: a value is stored in one type; a reader needing the other type reads one
 *       {@code Cast} made for that value and type, shared by all such readers (one per value, not
 *       one per reader), placed before its first reader. A Cast is never made to read another
 *       Cast's output: when the value comes from a model {@code Cast} to float, the new Cast reads
 *       that Cast's input instead (or the reader reads the input directly when it already has the
 *       wanted type), so there are no chains such as {@code float16 → float32 → float16}. A model
 *       {@code Cast} to float becomes {@code Cast(to = FLOAT16)} when its output is stored as
 *       float16, and is removed when it becomes a no-op (input and output of the same type),
 *       unless a graph input would have to become a graph output for that.</li>
 *   <li><b>Inputs and outputs</b>: with {@link Options#keepIoTypes()} (the default) float32 graph
 *       inputs and outputs stay float32, with a Cast after an input that a float16 node reads and
 *       before an output computed in float16 (the Cast output takes the output's name); without
 *       it they become float16 and float32 readers get the Cast. Other element types (int64
 *       shapes and indices, bool, double) are never touched. {@code value_info} entries and the
 *       declared types of every converted value follow, and the opset stays what it was.</li>
 * </ul>
 *
 * <h2>How the kernel table was determined</h2>
 * With ONNX Runtime 1.23.2 (Java API, CPU provider, x86_64) every op type of the reference models
 * and the ops PyTorch exports for vision models (about a hundred) was put alone in an opset-17
 * model whose float tensors are all float16, fed real activations of the reference models (or
 * random data), and created with graph optimizations disabled and the session's model saved. ONNX
 * Runtime inserts its own {@code Cast} nodes around a float16 node its provider has no float16
 * kernel for (a function op such as Softmax, Gelu, HardSwish or GroupNormalization is first
 * expanded into its body), and refuses to load ops whose schema does not admit float16 (Celu,
 * Range, and Resize, whose scales must be float32). The ops
 * that loaded with no inserted Cast are {@link #FLOAT16_EXACT_OPS} and
 * {@link #FLOAT16_COMPUTE_OPS}; the rest are {@link #DEFAULT_BLOCK_OPS}. The CPU provider has
 * float16 kernels for data movement and little else: Conv, MatMul, Gemm, the elementwise
 * arithmetic, Softmax, the reductions and the activations all run as float32 behind Casts, which
 * is what this pass writes out explicitly, with the Casts shared and placed once.
 * {@code ConvertFp16PassTest} keeps the table honest against the ONNX Runtime in use, for the
 * float16 ops at opsets 13, 17 and 21. (The table is the one of the x86_64 build measured here;
 * other builds, ARM64 in particular, may register other float16 kernels.)
 *
 * <p><b>Accuracy</b>: LayerNormalization is the one float16 compute op the reference models use.
 * Measured on the first 2000 Fashion-MNIST test images, with it in float16 and with it blocked:
 * top-1 of vit (87.55) and mobilevitv2 (91.40) is the same either way and the same as float32,
 * deepvit differs from float32 by one image in float16 (87.80 → 87.85) and by none when blocked,
 * and the largest logit difference hardly moves (vit 0.0039 in float16, 0.0041 blocked). It is
 * not blocked by default. Softmax and ReduceMean have no float16 kernel and run in float32 anyway.
 *
 * <h2>When it refuses, and when nothing changes</h2>
 * {@link #requires} refuses models that already hold float16 tensors (converted before: running
 * the pass again is refused, not repeated), quantized models, models with control flow
 * subgraphs, and {@code exclude} names that no node has. A model in which nothing would become
 * float16 (no float32 weight, and no float32 value a float16-capable node would take over) is
 * left unchanged.
 */
public final class ConvertFp16Pass implements Pass {
    /** The pass id. */
    public static final String ID = "convert-fp16";

    /** Largest finite float16. */
    public static final float FLOAT16_MAX = 65504f;

    /**
     * Ops that ONNX Runtime's CPU provider runs in float16 and whose result does not depend on
     * the precision they run in (they move, select or clamp values). Measured; see the class
     * documentation.
     */
    public static final Set<String> FLOAT16_EXACT_OPS = Set.of("Clip", "Concat", "Expand", "Flatten", "Gather",
            "GatherElements", "Identity", "Max", "Min", "Reshape", "ScatterElements", "ScatterND", "Slice", "Split",
            "Squeeze", "Transpose", "Unsqueeze");

    /** Ops that ONNX Runtime's CPU provider computes in float16. Measured; see the class documentation. */
    public static final Set<String> FLOAT16_COMPUTE_OPS = Set.of("IsNaN", "LayerNormalization", "Mod", "Round",
            "Shrink", "Sign");

    /**
     * Ops measured without a float16 kernel in ONNX Runtime's CPU provider (it inserts Casts around
     * them, or refuses the model: Celu, Range, Resize): kept in float32 with Casts around them.
     * Every op in neither {@link #FLOAT16_EXACT_OPS} nor {@link #FLOAT16_COMPUTE_OPS} is treated
     * the same way, listed here or not.
     */
    public static final Set<String> DEFAULT_BLOCK_OPS = Set.of("Abs", "Add", "ArgMax", "AveragePool",
            "BatchNormalization", "Ceil", "Celu", "Conv", "ConvTranspose", "Cos", "CumSum", "DepthToSpace", "Div",
            "Dropout", "Einsum", "Elu", "Equal", "Erf", "Exp", "Floor", "Gelu", "Gemm", "GlobalAveragePool",
            "GlobalMaxPool", "Greater", "GroupNormalization", "HardSigmoid", "HardSwish", "Hardmax",
            "InstanceNormalization", "LeakyRelu", "Less", "Log", "LogSoftmax", "LpNormalization", "MatMul", "MaxPool",
            "Mean", "MeanVarianceNormalization", "Mish", "Mul", "Neg", "PRelu", "Pad", "Pow", "Range", "Reciprocal",
            "ReduceL2", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
            "ReduceSumSquare", "Relu", "Resize", "Selu", "Sigmoid", "Sin", "Size", "Softmax", "Softplus", "Softsign",
            "SpaceToDepth", "Sqrt", "Sub", "Sum", "Tanh", "ThresholdedRelu", "Tile", "TopK", "Trilu", "Where");

    /** Ops that mark a model as quantized already. */
    private static final Set<String> QUANTIZED_OPS = Set.of("QuantizeLinear", "DequantizeLinear",
            "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "MatMulNBits", "DynamicQuantizeMatMul",
            "MatMulIntegerToFloat", "QAttention", "QGemm", "DynamicQuantizeLSTM");

    /** Below this default opset every node stays float32 (the kernel table was measured at 13, 17 and 21). */
    private static final long MIN_OPSET = 13;

    private static final System.Logger LOG = System.getLogger(ConvertFp16Pass.class.getName());

    /** How the CLI and recipes find this pass. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "stores float32 weights as float16 and computes in float16 where ONNX Runtime's CPU provider can, "
                    + "with shared Casts around the ops it keeps in float32",
            false,
            List.of(new PassOption("keep-io-types",
                            "true: graph inputs and outputs stay float32 (Casts inside); false: they become float16",
                            "true"),
                    new PassOption("block-ops",
                            "comma-separated op types kept in float32 besides the default block list", ""),
                    new PassOption("exclude", "comma-separated node names kept in float32", "")),
            o -> new ConvertFp16Pass(new Options(o.booleanValue("keep-io-types"), splitList(o.string("block-ops")),
                    splitList(o.string("exclude")))));

    /**
     * Options of {@code convert-fp16}.
     *
     * @param keepIoTypes true to keep float32 graph inputs and outputs float32 (Casts after the
     *     inputs and before the outputs where needed); false to make them float16
     * @param blockOps op types (default domain) kept in float32 in addition to the ops without a
     *     float16 kernel; names as ONNX spells them, e.g. {@code LayerNormalization}
     * @param excludeNodes names of nodes kept in float32 (a {@code Constant} node named here keeps
     *     its float32 tensor)
     */
    public record Options(boolean keepIoTypes, Set<String> blockOps, Set<String> excludeNodes) {
        /**
         * @throws IllegalArgumentException when a set is null or holds a blank or padded name
         */
        public Options {
            blockOps = checkNames(blockOps, "blockOps", "op type");
            excludeNodes = checkNames(excludeNodes, "excludeNodes", "node name");
        }

        /** @return float32 inputs and outputs kept, nothing blocked beyond the default list, nothing excluded */
        public static Options defaults() {
            return new Options(true, Set.of(), Set.of());
        }

        private static Set<String> checkNames(Set<String> names, String field, String what) {
            if (names == null) {
                throw new IllegalArgumentException(field + " must not be null (use an empty set)");
            }
            for (String s : names) {
                if (s == null || s.isBlank() || !s.strip().equals(s)) {
                    throw new IllegalArgumentException(field + ": '" + s + "' is not a " + what
                            + " (blank, or with spaces around it)");
                }
            }
            return Set.copyOf(names);
        }
    }

    private final Options options;

    /** With {@link Options#defaults()}. */
    public ConvertFp16Pass() {
        this(Options.defaults());
    }

    /** @param options the options */
    public ConvertFp16Pass(Options options) {
        this.options = java.util.Objects.requireNonNull(options, "options");
    }

    /** @return the options */
    public Options options() {
        return options;
    }

    @Override
    public String id() {
        return ID;
    }

    private static Set<String> splitList(String text) {
        Set<String> out = new LinkedHashSet<>();
        for (String s : text.split(",")) {
            if (!s.isBlank()) {
                out.add(s.strip());
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- requires / ensures

    @Override
    public void requires(Model model) {
        Graph g = model.graph();
        for (Node n : g.nodes()) {
            if (!n.subgraphs().isEmpty()) {
                throw new PassRefusedException(ID, "control flow (" + n.describe()
                        + ") is not supported: its subgraphs would need their own conversion");
            }
        }
        for (Node n : g.nodes()) {
            if (QUANTIZED_OPS.contains(n.opType()) || n.opType().startsWith("QLinear")) {
                throw new PassRefusedException(ID, "model is already quantized (has " + n.describe()
                        + "; QuantizeLinear/DequantizeLinear and integer ops are not converted)");
            }
        }
        String half = firstFloat16(model);
        if (half != null) {
            throw new PassRefusedException(ID, "model already holds float16 tensors ('" + half
                    + "'); it was converted before, and " + ID + " converts float32 models");
        }
        Set<String> missing = new TreeSet<>(options.excludeNodes());
        for (Node n : g.nodes()) {
            missing.remove(n.name());
        }
        if (!missing.isEmpty()) {
            throw new PassRefusedException(ID, "option exclude names nodes the model does not have: "
                    + String.join(", ", missing));
        }
    }

    /** @return the name of a float16 initializer, Constant, graph input/output or declared value, or null */
    private static String firstFloat16(Model model) {
        Graph g = model.graph();
        for (Value v : g.initializers()) {
            if (v.initializer().dataType() == DataType.FLOAT16) {
                return v.name();
            }
        }
        List<Value> declared = new ArrayList<>(g.inputs());
        declared.addAll(g.outputs());
        declared.addAll(g.valueInfos());
        for (Node n : g.nodes()) {
            Tensor c = ConstantNode.valueOf(n);
            if (c != null && c.dataType() == DataType.FLOAT16) {
                return c.name();
            }
            if (n.is("Cast") && n.intAttr("to", 0) == DataType.FLOAT16.code()) {
                return n.output(0).name();
            }
            declared.addAll(n.outputs());
        }
        for (Value v : declared) {
            if (v.elemType() == DataType.FLOAT16) {
                return v.name();
            }
        }
        return null;
    }

    /**
     * Checks that no float32 weight is left (besides graph-input defaults kept float32 and excluded
     * Constants) and that no Cast between float types reads the output of another such Cast.
     */
    @Override
    public void ensures(Model model) {
        Graph g = model.graph();
        for (Value v : g.initializers()) {
            if (v.initializer().dataType() == DataType.FLOAT && !(v.isGraphInput() && options.keepIoTypes())) {
                throw new IllegalStateException(ID + " left float32 initializer '" + v.name() + "'");
            }
        }
        for (Node n : g.nodes()) {
            Tensor c = ConstantNode.valueOf(n);
            if (c != null && c.dataType() == DataType.FLOAT && !isBlocked(n)) {
                throw new IllegalStateException(ID + " left float32 Constant '" + c.name() + "'");
            }
            if (isFloatCast(n) && n.input(0) != null && n.input(0).producer() != null
                    && isFloatCast(n.input(0).producer())) {
                throw new IllegalStateException(ID + " left a Cast chain: " + n.input(0).producer().describe()
                        + " -> " + n.describe());
            }
        }
    }

    private static boolean isFloatCast(Node n) {
        long to = n.intAttr("to", 0);
        return n.is("Cast") && (to == DataType.FLOAT.code() || to == DataType.FLOAT16.code());
    }

    private boolean isBlocked(Node n) {
        return options.excludeNodes().contains(n.name()) || (n.isOnnxDomain() && options.blockOps().contains(n.opType()));
    }

    // ---------------------------------------------------------------- run

    /** What a node does with float types. */
    private enum Role {
        /** Keeps float32: its float inputs are read as float32, its float outputs are float32. */
        FLOAT32,
        /** Computes in float16. */
        FLOAT16,
        /** A float16-capable op whose precision does not matter: takes its group's type. */
        FOLLOWS,
        /** Reads float inputs of either type as they are; has no float output. */
        TYPE_BLIND,
        /** A Constant node holding a float32 tensor: stored as float16. */
        CONSTANT
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        Graph g = model.graph();
        for (Node n : g.nodes()) {
            if (!n.subgraphs().isEmpty()) {
                return PassResult.unchanged(ID); // requires() refuses these; nothing is half-converted
            }
        }
        Plan plan = new Plan(model);
        if (!plan.changesAnything()) {
            return PassResult.unchanged(ID);
        }
        RewriteCounter counter = new RewriteCounter(ID);
        plan.apply(counter);
        LOG.log(System.Logger.Level.INFO, "{0}: {1} nodes in float16, {2} kept in float32, {3}",
                ID, plan.float16Nodes, plan.float32Nodes, counter.result().summary());
        return counter.result();
    }

    /**
     * Every decision of one run, made before the first mutation: the role of each node, the type
     * each float value is stored in, and the Casts to insert.
     */
    private final class Plan {
        private final Graph g;
        private final InferenceResult inference;
        private final boolean opsetSupported;
        private final Map<Node, Role> roles = new IdentityHashMap<>();
        /** Float values (float32 in the model) and whether each is stored as float16. */
        private final Map<Value, Boolean> half = new LinkedHashMap<>();
        /** Group representative of each FOLLOWS node (union-find). */
        private final Map<Node, Node> parent = new IdentityHashMap<>();
        private final Map<Node, Boolean> groupHalf = new IdentityHashMap<>();
        int float16Nodes;
        int float32Nodes;

        Plan(Model model) {
            this.g = model.graph();
            this.inference = ShapeInference.infer(model);
            this.opsetSupported = model.opsetVersion("") >= MIN_OPSET;
            for (Node n : g.nodes()) {
                roles.put(n, roleOf(n));
            }
            groupFollowers();
            decideStorage();
        }

        // ---- roles

        private boolean isFloat(Value v) {
            return v != null && !v.name().isEmpty() && inference.elemTypeOf(v) == DataType.FLOAT;
        }

        private Role roleOf(Node n) {
            if (isBlocked(n) || !n.isOnnxDomain()) {
                return Role.FLOAT32;
            }
            String op = n.opType();
            if (op.equals("Constant")) {
                Tensor t = ConstantNode.valueOf(n);
                return t != null && t.dataType() == DataType.FLOAT ? Role.CONSTANT : Role.FLOAT32;
            }
            if (!opsetSupported) {
                return Role.FLOAT32;
            }
            if (op.equals("Shape")) {
                return Role.TYPE_BLIND;
            }
            if (op.equals("Cast")) {
                return n.intAttr("to", 0) == DataType.FLOAT.code() ? Role.FOLLOWS : Role.TYPE_BLIND;
            }
            if (op.equals("ConstantOfShape")) {
                Attribute a = n.attribute("value");
                boolean floatOut = a == null || a.value() instanceof Tensor t && t.dataType() == DataType.FLOAT;
                return floatOut ? Role.FOLLOWS : Role.FLOAT32;
            }
            boolean exact = FLOAT16_EXACT_OPS.contains(op);
            if (!exact && !FLOAT16_COMPUTE_OPS.contains(op)) {
                return Role.FLOAT32;
            }
            for (Value v : n.inputs()) {
                if (v != null && inference.elemTypeOf(v) == null) {
                    return Role.FLOAT32; // NOTE: a value of unknown type might be float32; it keeps its producer's type
                }
            }
            for (int i = 0; i < n.outputs().size(); i++) {
                Value v = n.output(i);
                if (v.name().isEmpty()) {
                    continue;
                }
                if (inference.elemTypeOf(v) == null) {
                    return Role.FLOAT32;
                }
                if (op.equals("LayerNormalization") && i > 0) {
                    return Role.FLOAT32; // Mean and InvStdDev are float32 by the schema (type U)
                }
            }
            return exact ? Role.FOLLOWS : Role.FLOAT16;
        }

        /** True when the float inputs of {@code n} take its float type (a Cast reads either). */
        private boolean typedInput(Node n) {
            return !n.is("Cast");
        }

        // ---- groups of FOLLOWS nodes

        private Node find(Node n) {
            Node p = parent.get(n);
            if (p == n) {
                return n;
            }
            Node root = find(p);
            parent.put(n, root);
            return root;
        }

        private void groupFollowers() {
            for (Node n : g.nodes()) {
                if (roles.get(n) == Role.FOLLOWS) {
                    parent.put(n, n);
                }
            }
            for (Node n : g.nodes()) {
                if (roles.get(n) != Role.FOLLOWS) {
                    continue;
                }
                for (Value out : n.outputs()) {
                    if (!isFloat(out)) {
                        continue;
                    }
                    for (Use u : out.uses()) {
                        if (roles.get(u.node()) == Role.FOLLOWS && typedInput(u.node())) {
                            parent.put(find(u.node()), find(n));
                        }
                    }
                }
            }
            // NOTE: the cost of each choice is the set of (value, type) Casts it needs at the group's
            // border; values inside the group take the group's type, so they cost nothing.
            Map<Node, Set<String>> cost16 = new IdentityHashMap<>();
            Map<Node, Set<String>> cost32 = new IdentityHashMap<>();
            for (Node n : g.nodes()) {
                if (roles.get(n) != Role.FOLLOWS) {
                    continue;
                }
                Node root = find(n);
                Set<String> c16 = cost16.computeIfAbsent(root, k -> new LinkedHashSet<>());
                Set<String> c32 = cost32.computeIfAbsent(root, k -> new LinkedHashSet<>());
                if (typedInput(n)) {
                    for (Value in : n.inputs()) {
                        if (!isFloat(in) || inGroup(in.producer(), root)) {
                            continue;
                        }
                        (fixedHalf(in) ? c32 : c16).add(in.name() + (fixedHalf(in) ? ":32" : ":16"));
                    }
                }
                for (Value out : n.outputs()) {
                    if (!isFloat(out)) {
                        continue;
                    }
                    for (Use u : out.uses()) {
                        if (inGroup(u.node(), root) && typedInput(u.node())) {
                            continue;
                        }
                        Boolean wants = requirement(u.node());
                        if (wants != null) {
                            (wants ? c32 : c16).add(out.name() + (wants ? ":16" : ":32"));
                        }
                    }
                    if (out.isGraphOutput()) {
                        boolean wants = !options.keepIoTypes();
                        (wants ? c32 : c16).add(out.name() + (wants ? ":16" : ":32"));
                    }
                }
            }
            for (Node root : cost16.keySet()) {
                groupHalf.put(root, cost16.get(root).size() <= cost32.get(root).size());
            }
        }

        private boolean inGroup(Node n, Node root) {
            return n != null && roles.get(n) == Role.FOLLOWS && find(n) == root;
        }

        /** Storage of a float value not produced by a FOLLOWS node. */
        private boolean fixedHalf(Value v) {
            if (v.isGraphInput()) {
                return !options.keepIoTypes();
            }
            if (v.isInitializer()) {
                return true;
            }
            Node p = v.producer();
            Role r = p == null ? Role.FLOAT32 : roles.get(p);
            return r == Role.FLOAT16 || r == Role.CONSTANT;
        }

        // ---- storage

        private void decideStorage() {
            for (Value v : g.inputs()) {
                if (isFloat(v)) {
                    half.put(v, !options.keepIoTypes());
                }
            }
            for (Value v : g.initializers()) {
                if (!v.isGraphInput() && v.initializer().dataType() == DataType.FLOAT) {
                    half.put(v, true);
                }
            }
            for (Node n : g.nodes()) {
                Role r = roles.get(n);
                boolean anyFloat = false;
                for (Value out : n.outputs()) {
                    if (r == Role.CONSTANT ? !out.name().isEmpty() : isFloat(out)) {
                        anyFloat = true;
                        half.put(out, switch (r) {
                            case FLOAT16, CONSTANT -> true;
                            case FOLLOWS -> groupHalf.get(find(n));
                            default -> false;
                        });
                    }
                }
                for (Value in : n.inputs()) {
                    anyFloat |= isFloat(in);
                }
                if (r == Role.CONSTANT || !anyFloat) {
                    continue;
                }
                boolean computesHalf = r == Role.FLOAT16 || r == Role.FOLLOWS && groupHalf.get(find(n));
                if (computesHalf) {
                    float16Nodes++;
                } else if (r == Role.FLOAT32) {
                    float32Nodes++;
                }
            }
        }

        /** @return the type a use reads: true float16, false float32, null as stored */
        private Boolean requirement(Node reader) {
            return switch (roles.get(reader)) {
                case FLOAT32 -> false;
                case FLOAT16 -> true;
                case TYPE_BLIND, CONSTANT -> null;
                case FOLLOWS -> typedInput(reader) ? groupHalf.get(find(reader)) : null;
            };
        }

        boolean changesAnything() {
            return half.containsValue(true);
        }

        // ---- mutation

        void apply(RewriteCounter counter) {
            // Plan every Cast first, on the graph as it is.
            Map<CastKey, List<Use>> castUses = new LinkedHashMap<>();
            Map<Use, Value> redirect = new LinkedHashMap<>();
            for (Map.Entry<Value, Boolean> e : half.entrySet()) {
                Value v = e.getKey();
                boolean stored = e.getValue();
                for (Use u : v.uses()) {
                    Boolean wants = requirement(u.node());
                    if (wants == null || wants == stored) {
                        continue;
                    }
                    Value src = sourceOf(v);
                    if (wants.equals(storedHalf(src))) {
                        redirect.put(u, src); // a model Cast's input already has the wanted type
                    } else {
                        castUses.computeIfAbsent(new CastKey(src, wants), k -> new ArrayList<>()).add(u);
                    }
                }
            }
            List<Value> outputCasts = new ArrayList<>();
            for (Value v : new LinkedHashSet<>(g.outputs())) {
                Boolean stored = half.get(v);
                if (stored != null && stored == options.keepIoTypes()) {
                    outputCasts.add(v);
                }
            }

            convertWeights(counter);
            // Types of every float value, value_info and graph inputs/outputs included.
            for (Map.Entry<Value, Boolean> e : half.entrySet()) {
                Value v = e.getKey();
                if (e.getValue()) {
                    v.setType(withElem(v.type() instanceof ValueType.TensorType ? v.type() : inference.typeOf(v),
                            DataType.FLOAT16));
                    if (v.isGraphInput()) {
                        counter.count("float16 graph input");
                    }
                }
            }
            for (Value v : new LinkedHashSet<>(g.outputs())) {
                if (Boolean.TRUE.equals(half.get(v)) && !options.keepIoTypes()) {
                    counter.count("float16 graph output");
                }
            }
            // Model Casts and ConstantOfShape that now produce float16.
            for (Node n : g.nodes()) {
                if (roles.get(n) != Role.FOLLOWS || !Boolean.TRUE.equals(half.get(n.output(0)))) {
                    continue;
                }
                if (n.is("Cast")) {
                    n.setAttribute(Attribute.ofInt("to", DataType.FLOAT16.code())); // counted once it stays
                } else if (n.is("ConstantOfShape")) {
                    Attribute a = n.attribute("value");
                    Tensor fill = a == null ? Tensor.ofFloats("", new long[] {1}, 0f) : a.asTensor();
                    n.setAttribute(Attribute.ofTensor("value", toFloat16(fill, counter)));
                }
            }
            for (Map.Entry<Use, Value> e : redirect.entrySet()) {
                e.getKey().node().setInput(e.getKey().inputIndex(), e.getValue());
            }
            // Graph outputs stored in the other type: a Cast takes the output's name. It also
            // serves the value's other readers of that type (one Cast per value and type).
            Map<CastKey, Value> made = new HashMap<>();
            for (Value v : outputCasts) {
                boolean toHalf = !half.get(v);
                String name = v.name();
                String renamed = g.names().fresh(name + (toHalf ? "_fp32" : "_fp16"));
                if (v.isInitializer()) {
                    g.renameInitializer(v, renamed);
                } else {
                    v.setName(renamed);
                }
                Value src = sourceOf(v);
                boolean noConversion = Boolean.valueOf(toHalf).equals(storedHalf(src));
                Value out = noConversion ? newNode("Identity", src, null, name) : newNode("Cast", src, toHalf, name);
                out.setName(name);
                out.setType(withElem(v.type() != null ? v.type() : inference.typeOf(v),
                        toHalf ? DataType.FLOAT16 : DataType.FLOAT));
                insertAfterSource(src, out.producer());
                for (int i = 0; i < g.outputs().size(); i++) {
                    if (g.outputs().get(i) == v) {
                        g.replaceOutput(i, out);
                    }
                }
                if (!noConversion) {
                    made.put(new CastKey(src, toHalf), out);
                    counter.count("Cast inserted");
                }
            }
            // Shared Casts for readers, each before its first reader.
            for (Map.Entry<CastKey, List<Use>> e : castUses.entrySet()) {
                CastKey key = e.getKey();
                Value cast = made.get(key);
                if (cast == null) {
                    cast = newNode("Cast", key.source(), key.toHalf(),
                            key.source().name() + (key.toHalf() ? "_fp16" : "_fp32"));
                    g.insertBefore(firstReader(e.getValue()), cast.producer());
                    counter.count("Cast inserted");
                }
                for (Use u : e.getValue()) {
                    u.node().setInput(u.inputIndex(), cast);
                }
            }
            // Model Casts left unused, or made no-ops (same type in and out).
            for (Node n : List.copyOf(g.nodes())) {
                if (!n.is("Cast") || roles.get(n) != Role.FOLLOWS) {
                    continue;
                }
                Value out = n.output(0);
                Value in = n.input(0);
                if (out.uses().isEmpty() && !out.isGraphOutput()) {
                    GraphEdits.removeNodeAndUnusedConstants(n);
                    counter.count("Cast removed");
                } else if (half.get(out).equals(storedHalf(in)) && GraphEdits.canReplace(out, in)) {
                    GraphEdits.replace(out, in);
                    GraphEdits.removeNodeAndUnusedConstants(n);
                    counter.count("Cast removed");
                } else if (half.get(out)) {
                    counter.count("Cast retargeted");
                }
            }
        }

        private void convertWeights(RewriteCounter counter) {
            for (Value v : List.copyOf(g.initializers())) {
                if (Boolean.TRUE.equals(half.get(v))) {
                    g.setInitializerData(v, toFloat16(v.initializer(), counter));
                    counter.count("float16 initializer");
                }
            }
            for (Node n : g.nodes()) {
                if (roles.get(n) == Role.CONSTANT) {
                    Attribute old = n.attributes().get(0);
                    String tensorName = old.value() instanceof Tensor t ? t.name() : "";
                    Tensor converted = toFloat16(ConstantNode.valueOf(n).withName(tensorName), counter);
                    n.removeAttribute(old.name());
                    n.setAttribute(Attribute.ofTensor("value", converted));
                    counter.count("float16 Constant");
                }
            }
        }

        private Node firstReader(List<Use> uses) {
            Node first = null;
            int best = Integer.MAX_VALUE;
            for (Use u : uses) {
                int i = g.nodes().indexOf(u.node());
                if (i < best) {
                    best = i;
                    first = u.node();
                }
            }
            return first;
        }

        private void insertAfterSource(Value src, Node node) {
            if (src.producer() != null) {
                g.insertAfter(src.producer(), node);
            } else if (!g.nodes().isEmpty()) {
                g.insertBefore(g.nodes().get(0), node);
            } else {
                g.addNode(node);
            }
        }

        /**
         * A model Cast to float is looked through (repeatedly): a new Cast reads its input, never
         * its output, so no Cast ever reads a Cast this pass made or retargeted.
         */
        private Value sourceOf(Value v) {
            Value src = v;
            while (src.producer() != null && src.producer().is("Cast") && roles.get(src.producer()) == Role.FOLLOWS
                    && src.producer().input(0) != null) {
                src = src.producer().input(0);
            }
            return src;
        }

        /** @return true float16, false float32, null for a value that is neither (int64, unknown) */
        private Boolean storedHalf(Value v) {
            Boolean h = half.get(v);
            if (h != null) {
                return h;
            }
            DataType t = inference.elemTypeOf(v);
            return t == DataType.FLOAT16 ? Boolean.TRUE : t == DataType.FLOAT ? Boolean.FALSE : null;
        }

        /** @return the output of a new Cast (to float16 or float32) or Identity node reading {@code src}, not yet in the graph */
        private Value newNode(String op, Value src, Boolean toHalf, String hint) {
            DataType to = toHalf == null ? storedHalf(src) ? DataType.FLOAT16 : DataType.FLOAT
                    : toHalf ? DataType.FLOAT16 : DataType.FLOAT;
            String name = g.names().fresh(hint);
            Value out = new Value(name, ValueType.TensorType.of(to, inference.shapeOf(src)));
            List<Attribute> attrs = toHalf == null ? List.of() : List.of(Attribute.ofInt("to", to.code()));
            Node n = new Node("", op, List.of(src), List.of(out), attrs);
            // NOTE: node and value names are separate namespaces in ONNX; the node is named after
            // its output (a name unused by any node or value), which keeps each Cast to one name.
            n.setName(name);
            return out;
        }
    }

    /** A Cast to make: its source value and whether it converts to float16. */
    private record CastKey(Value source, boolean toHalf) {
    }

    private static ValueType withElem(ValueType type, DataType elem) {
        if (type instanceof ValueType.TensorType t) {
            return new ValueType.TensorType(elem, t.shape(), t.denotation(), t.extra(), t.innerExtra());
        }
        return ValueType.TensorType.of(elem, (Shape) null);
    }

    /**
     * Rounds a float32 tensor to float16 (nearest even), clamping finite values beyond ±65504 and
     * counting them, and counting non-zero values that become zero. Doc string and metadata are kept.
     */
    static Tensor toFloat16(Tensor t, RewriteCounter counter) {
        float[] f = t.toFloatArray();
        ByteBuffer buf = ByteBuffer.allocate(f.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        int clamped = 0;
        int flushed = 0;
        for (float x : f) {
            float y = x;
            if (Float.isFinite(x) && Math.abs(x) > FLOAT16_MAX) {
                y = Math.copySign(FLOAT16_MAX, x);
                clamped++;
            }
            short h = Float.floatToFloat16(y);
            if (y != 0 && (h & 0x7FFF) == 0) {
                flushed++;
            }
            buf.putShort(h);
        }
        buf.flip();
        counter.count("clamped values", clamped);
        counter.count("values flushed to zero", flushed);
        return new Tensor(t.name(), DataType.FLOAT16.code(), t.dims(), new TensorData.Raw(buf), t.docString(),
                t.metadata(), null, OpaqueFields.NONE);
    }
}
