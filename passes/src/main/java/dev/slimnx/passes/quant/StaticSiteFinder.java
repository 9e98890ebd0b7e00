package dev.slimnx.passes.quant;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the nodes of a model's main graph that static quantization can rewrite, by structure alone
 * (see {@link QuantizeStaticPass} for the rules), and gives the unnamed ones names.
 */
final class StaticSiteFinder {
    private static final System.Logger LOG = System.getLogger(StaticSiteFinder.class.getName());

    private final InferenceResult inferred;

    private StaticSiteFinder(Model model) {
        this.inferred = ShapeInference.infer(model);
    }

    /**
     * Every MatMul, Gemm and Conv of the main graph that fits, in graph order, whatever the options
     * choose, so that the names given to unnamed nodes do not depend on the options: an unnamed site
     * is named {@code graph.names().fresh(opType)} in graph order, asked twice when the first answer
     * is the op type itself ({@code MatMul_1}, {@code MatMul_2}, …).
     *
     * @param model the model; only unnamed sites change (they get names)
     * @return the sites
     */
    static List<StaticSite> find(Model model) {
        StaticSiteFinder finder = new StaticSiteFinder(model);
        Graph g = model.graph();
        List<StaticSite> sites = new ArrayList<>();
        for (Node n : g.nodes()) {
            if (!n.isOnnxDomain()) {
                continue;
            }
            StaticSite s = switch (n.opType()) {
                case "MatMul" -> finder.matMul(n);
                case "Gemm" -> finder.gemm(n);
                case "Conv" -> finder.conv(n);
                default -> null;
            };
            if (s != null) {
                sites.add(s);
            } else if (n.is("MatMul") || n.is("Gemm") || n.is("Conv")) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: not quantizable (inputs not float32 activations and "
                        + "constant weights of a supported layout)", n.describe());
            }
        }
        for (StaticSite s : sites) {
            if (s.node().name().isEmpty()) {
                // NOTE: never the op type itself, which excludeNodes would read as an op type
                String name = g.names().fresh(s.node().opType());
                s.node().setName(name.equals(s.node().opType()) ? g.names().fresh(name) : name);
            }
        }
        return sites;
    }

    /** {@code Y = A·B}: B a constant [K, N] (channels on axis 1), or both activations. */
    private StaticSite matMul(Node n) {
        Value a = n.input(0);
        Value b = n.input(1);
        if (!isFloatActivation(a)) {
            return null;
        }
        Tensor w = weight(b, 2);
        if (w != null) {
            return new StaticSite(n, StaticSite.Kind.MATMUL, List.of(a), b, w, 1, null, null, null);
        }
        if (isFloatActivation(b)) {
            return new StaticSite(n, StaticSite.Kind.ACTIVATION_MATMUL, a == b ? List.of(a) : List.of(a, b), null,
                    null, -1, null, null, null);
        }
        return null;
    }

    /**
     * {@code Y = A'·B' + C}: alpha 1, B a constant [K, N] ({@code transB = 0}, channels on axis 1)
     * or [N, K] ({@code transB = 1}, axis 0), C absent or a constant of N values ([N] or [1, N]) or
     * one value, with beta 1.
     */
    private StaticSite gemm(Node n) {
        Value a = n.input(0);
        long transB = n.intAttr("transB", 0);
        if (!isFloatActivation(a) || n.floatAttr("alpha", 1f) != 1f || (transB != 0 && transB != 1)) {
            return null;
        }
        Tensor w = weight(n.input(1), 2);
        if (w == null) {
            return null;
        }
        int axis = transB == 0 ? 1 : 0;
        int channels = Math.toIntExact(w.dims()[axis]);
        Value c = n.inputs().size() > 2 ? n.input(2) : null;
        float[] bias = null;
        if (c != null) {
            bias = bias(c, channels);
            if (bias == null || n.floatAttr("beta", 1f) != 1f) {
                return null;
            }
        }
        return new StaticSite(n, StaticSite.Kind.GEMM, List.of(a), n.input(1), w, axis, c, bias, null);
    }

    /** A Conv with a constant weight [M, C/group, k...] (channels on axis 0) and bias [M] or none. */
    private StaticSite conv(Node n) {
        Value x = n.input(0);
        if (!isFloatActivation(x)) {
            return null;
        }
        Tensor w = weight(n.input(1), -1);
        if (w == null || w.rank() < 3) {
            return null;
        }
        Value b = n.inputs().size() > 2 ? n.input(2) : null;
        float[] bias = null;
        if (b != null) {
            Tensor t = GraphEdits.constant(b);
            if (t == null || t.dataType() != DataType.FLOAT || t.rank() != 1 || t.dims()[0] != w.dims()[0]) {
                return null;
            }
            bias = t.toFloatArray();
        }
        return new StaticSite(n, StaticSite.Kind.CONV, List.of(x), n.input(1), w, 0, b, bias, convOutput(n));
    }

    /**
     * ONNX Runtime fuses DequantizeLinear → Conv → QuantizeLinear into QLinearConv, and a Relu
     * between the Conv and the QuantizeLinear too when the zero point makes it redundant (the
     * range starts at 0): the pair goes after such a Relu. A Conv whose output is a graph output
     * gets none (the fusion would change what the caller sees), and stays a float Conv.
     */
    private static Value convOutput(Node conv) {
        Value y = conv.output(0);
        if (y.isGraphOutput()) {
            return null;
        }
        if (GraphEdits.hasSoleUse(y)) {
            Use u = y.uses().get(0);
            Node next = u.node();
            if (next.is("Relu") && next.graph() == conv.graph() && !next.output(0).isGraphOutput()) {
                return next.output(0);
            }
        }
        return y;
    }

    private boolean isFloatActivation(Value v) {
        return v != null && GraphEdits.constant(v) == null && inferred.elemTypeOf(v) == DataType.FLOAT;
    }

    /** @return the float32 constant of finite values and the given rank (−1: any), or null */
    private static Tensor weight(Value v, int rank) {
        Tensor t = v == null ? null : GraphEdits.constant(v);
        if (t == null || t.dataType() != DataType.FLOAT || (rank >= 0 && t.rank() != rank) || t.numElements() == 0) {
            return null;
        }
        for (float f : t.toFloatArray()) {
            if (!Float.isFinite(f)) {
                return null;
            }
        }
        return t;
    }

    /** @return a float32 constant bias as one value per channel (a single value repeated), or null */
    private static float[] bias(Value v, int channels) {
        Tensor t = GraphEdits.constant(v);
        if (t == null || t.dataType() != DataType.FLOAT) {
            return null;
        }
        long[] d = t.dims();
        float[] values = t.toFloatArray();
        if (values.length == 1) {
            float[] repeated = new float[channels];
            java.util.Arrays.fill(repeated, values[0]);
            return repeated;
        }
        boolean row = d.length == 1 || (d.length == 2 && d[0] == 1);
        return row && values.length == channels ? values : null;
    }
}
