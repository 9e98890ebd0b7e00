package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
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
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.util.Arrays;
import java.util.List;

/**
 * Folds inference-mode {@code BatchNormalization} into the constants of a neighbouring linear
 * operator, and turns the BatchNorms that have no such neighbour into a {@code Mul} and an
 * {@code Add}.
 *
 * <h2>The math</h2>
 * An inference BatchNorm is an affine map per channel {@code c} of axis 1:
 * <pre>
 *   y = γ·(x − μ)/√(var + ε) + β = s·x + t,   s[c] = γ[c]/√(var[c] + ε),   t[c] = β[c] − μ[c]·s[c]
 * </pre>
 * ({@code ε} is the {@code epsilon} attribute, 1e-5 when absent). {@code s} and {@code t} are
 * computed in double precision, every folded constant is computed in double from the float32
 * originals and stored as float32. Each BatchNorm is tried against the rewrites below in this
 * order, and the first that applies is made:
 * <ol>
 *   <li><b>Conv → BN</b> (count {@code Conv+BatchNormalization}): a Conv with weight
 *       {@code W[O, I/group, k...]} and bias {@code b} (zero when absent; the Conv gets one):
 *       {@code W'[o] = W[o]·s[o]}, {@code b'[o] = b[o]·s[o] + t[o] = (b[o] − μ[o])·s[o] + β[o]}.</li>
 *   <li><b>ConvTranspose → BN</b> ({@code ConvTranspose+BatchNormalization}): the weight is
 *       {@code W[C_in, C_out/group, k...]}; input channel {@code i} of group {@code g = i/(C_in/group)}
 *       feeds output channel {@code o = g·(C_out/group) + j} through {@code W[i, j]}, so
 *       {@code W'[i, j] = W[i, j]·s[o]} and {@code b'[o] = b[o]·s[o] + t[o]}.</li>
 *   <li><b>Gemm → BN</b> ({@code Gemm+BatchNormalization}): {@code Y = α·A'·B' + β_g·C} is
 *       {@code [N, M]}, the BN channel is the column {@code m}: column {@code m} of {@code B'} (the
 *       row of {@code B} when {@code transB = 1}) is scaled by {@code s[m]}, and
 *       {@code C'' = s·β_g·C + t} (C broadcast to {@code [M]}, or to {@code [N_C, M]} when C is
 *       2-D; {@code t} alone when there is no C), with the Gemm's {@code beta} set to 1.</li>
 *   <li><b>MatMul(+Add) → BN</b> ({@code MatMul+BatchNormalization}): a MatMul with a constant
 *       {@code W[K, C]}, optionally followed by an {@code Add} of a constant bias of shape
 *       {@code [C]}, {@code [1]} or {@code [1, ..., C]}: {@code W'[k, c] = W[k, c]·s[c]},
 *       {@code bias'[c] = bias[c]·s[c] + t[c]} (an Add of {@code t} is inserted when there was no
 *       bias). Two layouts put the BN channel on the MatMul's last axis: a 2-D output {@code [N, C]}
 *       read by the BN directly, and the token layout {@code [B, T, C] → Transpose(perm [0, 2, 1]) →
 *       BN → Transpose(perm [0, 2, 1])} that PyTorch exports for a BatchNorm over the last axis
 *       (any perm that moves the last axis to axis 1 qualifies).
 *       NOTE: when the second Transpose undoes the first, this pass removes both together with the
 *       BN (they cancel, and leaving an identity pair behind would make the graph depend on the
 *       {@code eliminate} pass to be as fast as before); when it does not, the first Transpose
 *       stays and only the BN goes.</li>
 *   <li><b>BN → Conv</b> ({@code BatchNormalization+Conv}): {@code x' = s·x + t} per input
 *       channel, so for output channel {@code o} of group {@code g = o/(O/group)} and input channel
 *       {@code i = g·(I/group) + i'}: {@code W'[o, i'] = W[o, i']·s[i]} and
 *       {@code b'[o] = b[o] + Σ_{i',k} W[o, i', k]·t[i]}. Only when the Conv pads nothing
 *       ({@code pads} all 0, {@code auto_pad} NOTSET or VALID): padded zeros never went through the
 *       BN, so with padding the border outputs would differ.</li>
 *   <li><b>BN → MatMul / Gemm</b> ({@code BatchNormalization+MatMul}, {@code BatchNormalization+Gemm}):
 *       a 2-D input {@code [N, C]} read as the left operand of a constant weight {@code W[C, M]}
 *       (Gemm: {@code op(B)} with {@code transA = 0}): {@code W'[c, m] = s[c]·W[c, m]} and a bias
 *       {@code Σ_c t[c]·W[c, m]} (times α for Gemm) is added: into the Gemm's C (beta set to 1),
 *       into the constant bias of an Add that alone reads the MatMul, or by a new Add.</li>
 *   <li><b>lone BN</b> ({@code lone BatchNormalization}): {@code Mul(x, s) → Add(·, t)} with
 *       constants of shape {@code [C, 1, ..., 1]} that broadcast over axis 1. Needs the input's
 *       rank (declared or inferred) and a float32 input.</li>
 * </ol>
 *
 * <h2>When it does not fire</h2>
 * A BatchNorm stays as it is when {@code training_mode = 1}, when {@code spatial} (opset 7–8) is
 * not 1, when one of its optional outputs is used or is a graph output, when γ, β, μ or var is not
 * a float32 constant ({@link GraphEdits#constant}) of shape {@code [C]}, when {@code var + ε ≤ 0},
 * or when the model imports the default domain below opset 7. A fold is skipped (and the next
 * rewrite in the list tried) when the weights or biases it rewrites are not float32 constants,
 * when the value between the BN and its neighbour has another reader or is a graph output, when
 * channel counts do not match, or when a rank it needs is unknown. Every check of a site is made
 * before the first change, so a site is rewritten completely or not at all. New constants get
 * fresh names, so a weight that other nodes also read is never overwritten; constants the fold
 * leaves unused are removed. Subgraphs are visited too; a BN is folded backwards only into nodes of
 * its own graph (so no subgraph output ends up naming an outer value). The opset is kept.
 */
public final class FoldBatchNormPass implements Pass {
    /** The pass id. */
    public static final String ID = "fold-batchnorm";

    /** How the CLI and recipes find this pass; it takes no options. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "fold inference BatchNormalization into neighbouring Conv, ConvTranspose, Gemm and MatMul constants; "
                    + "the rest become Mul + Add",
            true, List.of(), options -> new FoldBatchNormPass());

    private static final System.Logger LOG = System.getLogger(FoldBatchNormPass.class.getName());
    private static final float DEFAULT_EPSILON = 1e-5f;

    /** Creates the pass; it has no options. */
    public FoldBatchNormPass() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        // NOTE: opset 6 and below have is_test/consumed_inputs and broadcast attributes on Add/Mul;
        // no exporter in use writes them any more, so those models are left alone.
        if (model.opsetVersion("") < 7) {
            return PassResult.unchanged(ID);
        }
        Run run = new Run(model);
        run.graph(model.graph());
        return run.counter.result();
    }

    /** The per-channel affine map {@code y = s·x + t} of an inference BatchNorm. */
    private record Affine(int channels, double[] scale, double[] shift) {
    }

    /** A MatMul with a constant 2-D weight, optionally followed by an Add of a constant bias. */
    private record Linear(Node matMul, Tensor weight, Node add, int biasIndex, Tensor bias) {
    }

    /** One run over a model: the counter, and shape inference computed the first time it is needed. */
    private static final class Run {
        private final Model model;
        private final RewriteCounter counter = new RewriteCounter(ID);
        private InferenceResult inferred;

        Run(Model model) {
            this.model = model;
        }

        void graph(Graph g) {
            for (Node n : List.copyOf(g.nodes())) {
                if (n.graph() != g) {
                    continue; // removed by an earlier site
                }
                for (Graph sub : n.subgraphs()) {
                    graph(sub);
                }
                if (n.is("BatchNormalization")) {
                    site(n);
                }
            }
        }

        private void site(Node bn) {
            Affine a = affineOf(bn);
            if (a == null) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: not an inference BatchNorm with constant float32 parameters",
                        bn.describe());
                return;
            }
            boolean done = counter.countIf("Conv+BatchNormalization", tryFoldIntoProducingConv(bn, a))
                    || counter.countIf("ConvTranspose+BatchNormalization", tryFoldIntoProducingConvTranspose(bn, a))
                    || counter.countIf("Gemm+BatchNormalization", tryFoldIntoProducingGemm(bn, a))
                    || counter.countIf("MatMul+BatchNormalization", tryFoldIntoProducingMatMul(bn, a))
                    || counter.countIf("BatchNormalization+Conv", tryFoldIntoConsumingConv(bn, a))
                    || counter.countIf("BatchNormalization+MatMul", tryFoldIntoConsumingMatMul(bn, a))
                    || counter.countIf("BatchNormalization+Gemm", tryFoldIntoConsumingGemm(bn, a))
                    || counter.countIf("lone BatchNormalization", tryReplaceWithMulAdd(bn, a));
            if (!done) {
                LOG.log(System.Logger.Level.DEBUG, "{0}: left as it is (no exact fold, input rank or type unknown)",
                        bn.describe());
            }
        }

        // ---- BN after a linear operator ----

        /** Conv → BN: {@code W'[o] = W[o]·s[o]}, {@code b'[o] = b[o]·s[o] + t[o]}. */
        private boolean tryFoldIntoProducingConv(Node bn, Affine a) {
            Value x = bn.input(0);
            Node conv = x.producer();
            if (conv == null || !conv.is("Conv") || conv.graph() != bn.graph() || !GraphEdits.hasSoleUse(x)) {
                return false;
            }
            Tensor w = floatConstant(conv.input(1));
            if (w == null || w.rank() < 3 || w.dims()[0] != a.channels() || !GraphEdits.canReplace(bn.output(0), x)) {
                return false;
            }
            int out = a.channels();
            double[] bias = biasOrZeros(conv.input(2), out);
            if (bias == null) {
                return false;
            }
            double[] wv = w.toDoubleArray();
            int perChannel = wv.length / out;
            float[] folded = new float[wv.length];
            for (int o = 0; o < out; o++) {
                for (int j = 0; j < perChannel; j++) {
                    folded[o * perChannel + j] = (float) (wv[o * perChannel + j] * a.scale()[o]);
                }
            }
            replaceWeightAndBias(conv, bn, x, w, folded, bias, a);
            return true;
        }

        /**
         * Finishes a fold into a Conv or ConvTranspose: weight input 1 becomes {@code folded}, bias
         * input 2 becomes {@code b·s + t}, and the BatchNormalization goes.
         */
        private void replaceWeightAndBias(Node conv, Node bn, Value x, Tensor w, float[] folded, double[] bias,
                                          Affine a) {
            int out = a.channels();
            float[] foldedBias = new float[out];
            for (int o = 0; o < out; o++) {
                foldedBias[o] = (float) (bias[o] * a.scale()[o] + a.shift()[o]);
            }
            setConstantInput(conv, 1, Tensor.ofFloats("", w.dims(), folded), hint(conv.input(1), bn, "weight"));
            setConstantInput(conv, 2, Tensor.ofFloats("", new long[] {out}, foldedBias),
                    hint(conv.input(2), bn, "bias"));
            dropBatchNorm(bn, x);
            LOG.log(System.Logger.Level.DEBUG, "folded {0} into {1}", bn.describe(), conv.describe());
        }

        /**
         * ConvTranspose → BN: {@code W[C_in, C_out/group, k...]}; {@code W'[i, j] = W[i, j]·s[o]} with
         * {@code o = (i / (C_in/group))·(C_out/group) + j}, {@code b'[o] = b[o]·s[o] + t[o]}.
         */
        private boolean tryFoldIntoProducingConvTranspose(Node bn, Affine a) {
            Value x = bn.input(0);
            Node conv = x.producer();
            if (conv == null || !conv.is("ConvTranspose") || conv.graph() != bn.graph() || !GraphEdits.hasSoleUse(x)) {
                return false;
            }
            Tensor w = floatConstant(conv.input(1));
            long group = conv.intAttr("group", 1);
            if (w == null || w.rank() < 3 || w.numElements() == 0 || group < 1 || w.dims()[0] % group != 0
                    || w.dims()[1] * group != a.channels() || !GraphEdits.canReplace(bn.output(0), x)) {
                return false;
            }
            int out = a.channels();
            double[] bias = biasOrZeros(conv.input(2), out);
            if (bias == null) {
                return false;
            }
            int in = Math.toIntExact(w.dims()[0]);
            int outPerGroup = Math.toIntExact(w.dims()[1]);
            int inPerGroup = Math.toIntExact(in / group);
            double[] wv = w.toDoubleArray();
            int kernel = wv.length / (in * outPerGroup);
            float[] folded = new float[wv.length];
            for (int i = 0; i < in; i++) {
                int g = i / inPerGroup;
                for (int j = 0; j < outPerGroup; j++) {
                    double s = a.scale()[g * outPerGroup + j];
                    int base = (i * outPerGroup + j) * kernel;
                    for (int k = 0; k < kernel; k++) {
                        folded[base + k] = (float) (wv[base + k] * s);
                    }
                }
            }
            replaceWeightAndBias(conv, bn, x, w, folded, bias, a);
            return true;
        }

        /** Gemm → BN: column {@code m} of {@code op(B)} times {@code s[m]}; {@code C'' = s·β_g·C + t}, beta 1. */
        private boolean tryFoldIntoProducingGemm(Node bn, Affine a) {
            Value y = bn.input(0);
            Node gemm = y.producer();
            if (gemm == null || !gemm.is("Gemm") || gemm.graph() != bn.graph() || !GraphEdits.hasSoleUse(y)) {
                return false;
            }
            Tensor b = floatConstant(gemm.input(1));
            boolean transB = gemm.intAttr("transB", 0) != 0;
            if (b == null || b.rank() != 2 || (transB ? b.dims()[0] : b.dims()[1]) != a.channels()
                    || !GraphEdits.canReplace(bn.output(0), y)) {
                return false;
            }
            Tensor c = floatConstant(gemm.input(2));
            if (gemm.input(2) != null && c == null) {
                return false;
            }
            Tensor foldedC = gemmBias(c, gemm.floatAttr("beta", 1f), a.channels(), a.scale(), a.shift());
            if (foldedC == null) {
                return false;
            }
            double[] bv = b.toDoubleArray();
            int cols = Math.toIntExact(b.dims()[1]);
            float[] folded = new float[bv.length];
            for (int i = 0; i < bv.length; i++) {
                int channel = transB ? i / cols : i % cols;
                folded[i] = (float) (bv[i] * a.scale()[channel]);
            }
            setConstantInput(gemm, 1, Tensor.ofFloats("", b.dims(), folded), hint(gemm.input(1), bn, "weight"));
            setConstantInput(gemm, 2, foldedC, hint(gemm.input(2), bn, "bias"));
            setBetaToOne(gemm);
            dropBatchNorm(bn, y);
            LOG.log(System.Logger.Level.DEBUG, "folded {0} into {1}", bn.describe(), gemm.describe());
            return true;
        }

        /**
         * MatMul(+Add) → BN with the BN channel on the MatMul's last axis: a 2-D output read by the
         * BN, or a token tensor moved into channel-first layout by a Transpose (and, optionally,
         * moved back by a second one, which then goes too).
         */
        private boolean tryFoldIntoProducingMatMul(Node bn, Affine a) {
            Value x = bn.input(0);
            Node p = x.producer();
            if (p == null || p.graph() != bn.graph() || !GraphEdits.hasSoleUse(x)) {
                return false;
            }
            Node t1 = null;
            Value linearOut = x;
            int rank = 2;
            if (p.is("Transpose")) {
                long[] perm = p.intsAttr("perm");
                if (perm == null || perm.length < 2 || perm[1] != perm.length - 1 || p.input(0) == null
                        || !GraphEdits.hasSoleUse(p.input(0))) {
                    return false;
                }
                t1 = p;
                linearOut = p.input(0);
                rank = perm.length;
            } else if (!p.is("MatMul") && !p.is("Add")) {
                return false;
            } else {
                Shape xs = shapeOf(x);
                if (xs == null || xs.rank() != 2) {
                    return false;
                }
            }
            Linear lin = linearProducing(linearOut, rank, bn.graph());
            if (lin == null || lin.weight().dims()[1] != a.channels()) {
                return false;
            }
            Node t2 = t1 == null ? null : inverseTranspose(bn.output(0), t1.intsAttr("perm"));
            if (!GraphEdits.canReplace(t2 != null ? t2.output(0) : bn.output(0), x)) {
                return false;
            }
            // every check is done: rewrite
            Node reader = t1 != null ? t1 : bn;
            Value folded = foldColumnsIntoLinear(lin, a.scale(), a.shift(), bn);
            reader.setInput(0, folded);
            if (t2 != null) {
                replaceKeepingType(t2.output(0), folded);
                t2.graph().removeNode(t2);
                GraphEdits.removeNodeAndUnusedConstants(bn);
                t1.graph().removeNode(t1);
            } else {
                dropBatchNorm(bn, bn.input(0));
            }
            LOG.log(System.Logger.Level.DEBUG, "folded {0} into {1}{2}", bn.describe(), lin.matMul().describe(),
                    t2 != null ? " and removed the Transpose pair around it" : "");
            return true;
        }

        // ---- BN before a linear operator ----

        /**
         * BN → Conv without padding: {@code W'[o, i'] = W[o, i']·s[i]},
         * {@code b'[o] = b[o] + Σ W[o, i', k]·t[i]} with {@code i = (o / (O/group))·(I/group) + i'}.
         */
        private boolean tryFoldIntoConsumingConv(Node bn, Affine a) {
            Value y = bn.output(0);
            if (!GraphEdits.hasSoleUse(y)) {
                return false;
            }
            Use use = y.uses().get(0);
            Node conv = use.node();
            if (!conv.is("Conv") || use.inputIndex() != 0 || !padsNothing(conv)) {
                return false;
            }
            Tensor w = floatConstant(conv.input(1));
            long group = conv.intAttr("group", 1);
            if (w == null || w.rank() < 3 || w.numElements() == 0 || group < 1 || w.dims()[0] % group != 0
                    || w.dims()[1] * group != a.channels()) {
                return false;
            }
            int out = Math.toIntExact(w.dims()[0]);
            double[] bias = biasOrZeros(conv.input(2), out);
            if (bias == null) {
                return false;
            }
            int inPerGroup = Math.toIntExact(w.dims()[1]);
            int outPerGroup = Math.toIntExact(out / group);
            double[] wv = w.toDoubleArray();
            int kernel = wv.length / (out * inPerGroup);
            float[] folded = new float[wv.length];
            for (int o = 0; o < out; o++) {
                int g = o / outPerGroup;
                for (int il = 0; il < inPerGroup; il++) {
                    int i = g * inPerGroup + il;
                    int base = (o * inPerGroup + il) * kernel;
                    for (int k = 0; k < kernel; k++) {
                        folded[base + k] = (float) (wv[base + k] * a.scale()[i]);
                        bias[o] += wv[base + k] * a.shift()[i];
                    }
                }
            }
            setConstantInput(conv, 1, Tensor.ofFloats("", w.dims(), folded), hint(conv.input(1), bn, "weight"));
            setConstantInput(conv, 2, Tensor.ofFloats("", new long[] {out}, toFloats(bias)),
                    hint(conv.input(2), bn, "bias"));
            conv.setInput(0, bn.input(0));
            GraphEdits.removeNodeAndUnusedConstants(bn);
            LOG.log(System.Logger.Level.DEBUG, "folded {0} into the following {1}", bn.describe(), conv.describe());
            return true;
        }

        /** BN → MatMul on a 2-D input: {@code W'[c, m] = s[c]·W[c, m]}, bias {@code + Σ_c t[c]·W[c, m]}. */
        private boolean tryFoldIntoConsumingMatMul(Node bn, Affine a) {
            Value y = bn.output(0);
            if (!GraphEdits.hasSoleUse(y)) {
                return false;
            }
            Use use = y.uses().get(0);
            Node mm = use.node();
            if (!mm.is("MatMul") || use.inputIndex() != 0) {
                return false;
            }
            Tensor w = floatConstant(mm.input(1));
            if (w == null || w.rank() != 2 || w.dims()[0] != a.channels()) {
                return false;
            }
            Shape xs = shapeOf(bn.input(0));
            if (xs == null || xs.rank() != 2) {
                return false;
            }
            int cols = Math.toIntExact(w.dims()[1]);
            double[] wv = w.toDoubleArray();
            float[] folded = new float[wv.length];
            double[] shift = new double[cols];
            for (int c = 0; c < a.channels(); c++) {
                for (int m = 0; m < cols; m++) {
                    folded[c * cols + m] = (float) (wv[c * cols + m] * a.scale()[c]);
                    shift[m] += a.shift()[c] * wv[c * cols + m];
                }
            }
            Value out = mm.output(0);
            Node add = null;
            int biasIndex = -1;
            Tensor bias = null;
            if (GraphEdits.hasSoleUse(out) && out.uses().get(0).node().is("Add")) {
                Node candidate = out.uses().get(0).node();
                int other = 1 - out.uses().get(0).inputIndex();
                Tensor c = candidate.inputs().size() == 2 ? floatConstant(candidate.input(other)) : null;
                if (c != null && isChannelBias(c, 2, cols)) {
                    add = candidate;
                    biasIndex = other;
                    bias = c;
                }
            }
            // every check is done: rewrite
            mm.setInput(0, bn.input(0));
            setConstantInput(mm, 1, Tensor.ofFloats("", w.dims(), folded), hint(mm.input(1), bn, "weight"));
            if (add != null) {
                setConstantInput(add, biasIndex, channelBias(bias, cols, null, shift),
                        hint(add.input(biasIndex), bn, "bias"));
            } else {
                appendAdd(mm, shift, hint(null, bn, "bias"));
            }
            GraphEdits.removeNodeAndUnusedConstants(bn);
            LOG.log(System.Logger.Level.DEBUG, "folded {0} into the following {1}", bn.describe(), mm.describe());
            return true;
        }

        /**
         * BN → Gemm ({@code transA = 0}): row {@code c} of {@code op(B)} times {@code s[c]};
         * {@code C'' = β_g·C + α·Σ_c t[c]·op(B)[c, m]}, beta 1.
         */
        private boolean tryFoldIntoConsumingGemm(Node bn, Affine a) {
            Value y = bn.output(0);
            if (!GraphEdits.hasSoleUse(y)) {
                return false;
            }
            Use use = y.uses().get(0);
            Node gemm = use.node();
            if (!gemm.is("Gemm") || use.inputIndex() != 0 || gemm.intAttr("transA", 0) != 0) {
                return false;
            }
            Tensor b = floatConstant(gemm.input(1));
            boolean transB = gemm.intAttr("transB", 0) != 0;
            if (b == null || b.rank() != 2 || (transB ? b.dims()[1] : b.dims()[0]) != a.channels()) {
                return false;
            }
            Tensor c = floatConstant(gemm.input(2));
            if (gemm.input(2) != null && c == null) {
                return false;
            }
            int cols = Math.toIntExact(b.dims()[1]);
            int m = Math.toIntExact(transB ? b.dims()[0] : b.dims()[1]);
            double alpha = gemm.floatAttr("alpha", 1f);
            double[] bv = b.toDoubleArray();
            float[] folded = new float[bv.length];
            double[] shift = new double[m];
            for (int i = 0; i < bv.length; i++) {
                int row = i / cols;
                int col = i % cols;
                int channel = transB ? col : row;
                int output = transB ? row : col;
                folded[i] = (float) (bv[i] * a.scale()[channel]);
                shift[output] += alpha * a.shift()[channel] * bv[i];
            }
            Tensor foldedC = gemmBias(c, gemm.floatAttr("beta", 1f), m, null, shift);
            if (foldedC == null) {
                return false;
            }
            // every check is done: rewrite
            gemm.setInput(0, bn.input(0));
            setConstantInput(gemm, 1, Tensor.ofFloats("", b.dims(), folded), hint(gemm.input(1), bn, "weight"));
            setConstantInput(gemm, 2, foldedC, hint(gemm.input(2), bn, "bias"));
            setBetaToOne(gemm);
            GraphEdits.removeNodeAndUnusedConstants(bn);
            LOG.log(System.Logger.Level.DEBUG, "folded {0} into the following {1}", bn.describe(), gemm.describe());
            return true;
        }

        // ---- no neighbour to fold into ----

        /** {@code y = Mul(x, s) + t} with constants {@code [C, 1, ..., 1]} broadcasting over axis 1. */
        private boolean tryReplaceWithMulAdd(Node bn, Affine a) {
            Value x = bn.input(0);
            Value y = bn.output(0);
            Shape xs = shapeOf(x);
            if (xs == null || xs.rank() < 2 || elemTypeOf(x) != DataType.FLOAT
                    || (xs.dim(1).isKnown() && xs.dim(1).value() != a.channels())) {
                return false;
            }
            long[] dims = new long[xs.rank() - 1];
            Arrays.fill(dims, 1);
            dims[0] = a.channels();
            Graph g = bn.graph();
            String base = bn.name().isEmpty() ? y.name() : bn.name();
            ValueType type = typeOf(y);
            Value scale = constant(g, base + "_scale", Tensor.ofFloats("", dims, toFloats(a.scale())));
            Value shift = constant(g, base + "_shift", Tensor.ofFloats("", dims, toFloats(a.shift())));
            Value scaled = new Value(g.names().fresh(y.name() + "_scaled"), type);
            Node mul = new Node("", "Mul", List.of(x, scale), List.of(scaled), List.of());
            mul.setName(g.names().fresh(base + "_mul"));
            Value shifted = new Value(g.names().fresh(y.name() + "_shifted"), type);
            Node add = new Node("", "Add", List.of(scaled, shift), List.of(shifted), List.of());
            add.setName(g.names().fresh(base + "_add"));
            g.insertBefore(bn, mul);
            g.insertBefore(bn, add);
            replaceKeepingType(y, shifted);
            GraphEdits.removeNodeAndUnusedConstants(bn);
            LOG.log(System.Logger.Level.DEBUG, "replaced {0} by Mul + Add", bn.describe());
            return true;
        }

        // ---- helpers ----

        /**
         * @return the MatMul (constant weight {@code [K, N]}, output of rank {@code rank}) and the
         *     optional Add of a constant bias over its last axis, both in {@code graph}, that produce
         *     {@code v}, or null
         */
        private Linear linearProducing(Value v, int rank, Graph graph) {
            Node p = v.producer();
            if (p == null || p.graph() != graph) {
                return null;
            }
            Node mm = p;
            Node add = null;
            int biasIndex = -1;
            Tensor bias = null;
            if (p.is("Add")) {
                for (int i = 1; i >= 0 && add == null; i--) {
                    Tensor c = p.inputs().size() == 2 ? floatConstant(p.input(i)) : null;
                    Value other = p.input(1 - i);
                    if (c != null && other != null && other.producer() != null && other.producer().is("MatMul")
                            && GraphEdits.hasSoleUse(other)) {
                        add = p;
                        biasIndex = i;
                        bias = c;
                        mm = other.producer();
                    }
                }
                if (add == null) {
                    return null;
                }
            }
            if (!mm.is("MatMul") || mm.graph() != graph) {
                return null;
            }
            Tensor w = floatConstant(mm.input(1));
            if (w == null || w.rank() != 2) {
                return null;
            }
            Shape out = shapeOf(mm.output(0));
            if (out == null || out.rank() != rank || (bias != null && !isChannelBias(bias, rank, w.dims()[1]))) {
                return null;
            }
            return new Linear(mm, w, add, biasIndex, bias);
        }

        /**
         * Scales output column {@code n} of a linear by {@code scale[n]} and adds {@code shift[n]}:
         * into its bias, or by a new Add after the MatMul.
         *
         * @return the value that now carries the folded result (the Add's output)
         */
        private Value foldColumnsIntoLinear(Linear lin, double[] scale, double[] shift, Node bn) {
            Tensor w = lin.weight();
            int cols = Math.toIntExact(w.dims()[1]);
            double[] wv = w.toDoubleArray();
            float[] folded = new float[wv.length];
            for (int i = 0; i < wv.length; i++) {
                folded[i] = (float) (wv[i] * scale[i % cols]);
            }
            Node mm = lin.matMul();
            setConstantInput(mm, 1, Tensor.ofFloats("", w.dims(), folded), hint(mm.input(1), bn, "weight"));
            if (lin.add() != null) {
                setConstantInput(lin.add(), lin.biasIndex(), channelBias(lin.bias(), cols, scale, shift),
                        hint(lin.add().input(lin.biasIndex()), bn, "bias"));
                return lin.add().output(0);
            }
            Graph g = mm.graph();
            Value out = mm.output(0);
            Value t = constant(g, hint(null, bn, "bias"), Tensor.ofFloats("", new long[] {cols}, toFloats(shift)));
            Value sum = new Value(g.names().fresh(out.name() + "_bias"), typeOf(out));
            Node add = new Node("", "Add", List.of(out, t), List.of(sum), List.of());
            add.setName(g.names().fresh((mm.name().isEmpty() ? out.name() : mm.name()) + "_bias"));
            g.insertAfter(mm, add);
            return sum;
        }

        /**
         * Adds {@code shift} (over the last axis) to the output of {@code mm} with a new Add that
         * takes over every reader of the output, graph-output name included.
         */
        private void appendAdd(Node mm, double[] shift, String hint) {
            Graph g = mm.graph();
            Value out = mm.output(0);
            Value t = constant(g, hint, Tensor.ofFloats("", new long[] {shift.length}, toFloats(shift)));
            Value sum = new Value(g.names().fresh(out.name() + "_bias"), typeOf(out));
            Node add = new Node("", "Add", List.of(out, t), List.of(sum), List.of());
            add.setName(g.names().fresh((mm.name().isEmpty() ? out.name() : mm.name()) + "_bias"));
            g.insertAfter(mm, add);
            // NOTE: replace() repoints every reader of out, the new Add among them; the Add is then
            // pointed back at out. canReplace holds: sum is a fresh node output.
            GraphEdits.replace(out, sum);
            add.setInput(0, out);
        }

        /** Replaces a BN's output by {@code replacement} and removes the BN with its unused parameters. */
        private static void dropBatchNorm(Node bn, Value replacement) {
            replaceKeepingType(bn.output(0), replacement);
            GraphEdits.removeNodeAndUnusedConstants(bn);
        }

        /**
         * {@link GraphEdits#replace}, and a replacement without a type takes the old value's: the
         * shapes are equal, and a graph output whose name moves keeps its declared type.
         */
        private static void replaceKeepingType(Value old, Value replacement) {
            if (replacement.type() == null) {
                replacement.setType(old.type());
            }
            GraphEdits.replace(old, replacement);
        }

        /**
         * Points input {@code index} of {@code n} at a new constant (a fresh name, so a tensor that
         * other nodes read is left alone) and removes the old one when nothing reads it any more.
         */
        private static void setConstantInput(Node n, int index, Tensor data, String hint) {
            Value old = n.input(index);
            Value fresh = constant(n.graph(), hint, data);
            if (index < n.inputs().size()) {
                n.setInput(index, fresh);
            } else {
                while (n.inputs().size() < index) {
                    n.addInput(null);
                }
                n.addInput(fresh);
            }
            GraphEdits.removeIfUnused(old);
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

    /**
     * @return the affine map of a BatchNorm in inference mode whose parameters are float32
     *     constants of shape {@code [C]}, or null
     */
    private static Affine affineOf(Node bn) {
        if (bn.inputs().size() != 5 || bn.input(0) == null || bn.outputs().isEmpty()
                || bn.intAttr("training_mode", 0) != 0 || bn.intAttr("spatial", 1) != 1) {
            return null;
        }
        for (int i = 1; i < bn.outputs().size(); i++) {
            Value extra = bn.output(i);
            if (!extra.name().isEmpty() && (!extra.uses().isEmpty() || extra.isGraphOutput())) {
                return null;
            }
        }
        double[][] p = new double[4][];
        for (int i = 0; i < 4; i++) {
            Tensor t = floatConstant(bn.input(i + 1));
            if (t == null || t.rank() != 1 || (i > 0 && t.dims()[0] != p[0].length)) {
                return null;
            }
            p[i] = t.toDoubleArray();
        }
        double epsilon = bn.floatAttr("epsilon", DEFAULT_EPSILON);
        int channels = p[0].length;
        if (channels == 0) {
            return null;
        }
        double[] scale = new double[channels];
        double[] shift = new double[channels];
        for (int c = 0; c < channels; c++) {
            double denominator = p[3][c] + epsilon;
            if (!(denominator > 0)) {
                return null;
            }
            scale[c] = p[0][c] / Math.sqrt(denominator);
            shift[c] = p[1][c] - p[2][c] * scale[c];
            if (!Double.isFinite(scale[c]) || !Double.isFinite(shift[c])) {
                return null;
            }
        }
        return new Affine(channels, scale, shift);
    }

    /** @return the tensor of a float32 constant, or null (also for an omitted input) */
    private static Tensor floatConstant(Value v) {
        if (v == null) {
            return null;
        }
        Tensor t = GraphEdits.constant(v);
        return t != null && t.dataType() == DataType.FLOAT ? t : null;
    }

    /**
     * @return the bias of shape {@code [size]} as doubles, zeros when omitted, null when it is not a
     *     float32 constant of that shape
     */
    private static double[] biasOrZeros(Value v, int size) {
        if (v == null) {
            return new double[size];
        }
        Tensor t = floatConstant(v);
        return t != null && t.rank() == 1 && t.dims()[0] == size ? t.toDoubleArray() : null;
    }

    /**
     * @return true for a bias over the last axis that does not raise the rank: {@code []} or
     *     {@code [1, ..., 1, 1 or C]} of at most {@code rank} dims
     */
    private static boolean isChannelBias(Tensor bias, int rank, long channels) {
        long[] d = bias.dims();
        if (d.length > rank) {
            return false;
        }
        for (int i = 0; i < d.length - 1; i++) {
            if (d[i] != 1) {
                return false;
            }
        }
        return d.length == 0 || d[d.length - 1] == 1 || d[d.length - 1] == channels;
    }

    /**
     * @param bias a bias accepted by {@link #isChannelBias}
     * @param scale per-channel factor, or null for 1
     * @return {@code bias[c]·scale[c] + shift[c]} with the bias's rank (at least 1) and {@code C} as last dim
     */
    private static Tensor channelBias(Tensor bias, int channels, double[] scale, double[] shift) {
        double[] b = bias.toDoubleArray();
        long[] dims = bias.rank() == 0 ? new long[] {channels} : bias.dims().clone();
        dims[dims.length - 1] = channels;
        float[] out = new float[channels];
        for (int c = 0; c < channels; c++) {
            out[c] = (float) (b[b.length == 1 ? 0 : c] * (scale == null ? 1 : scale[c]) + shift[c]);
        }
        return Tensor.ofFloats("", dims, out);
    }

    /**
     * The new C input of a Gemm with output {@code [N, M]} after its beta is set to 1:
     * {@code (β_g·C)[r, m]·scale[m] + shift[m]}, C broadcast to {@code [M]} (or {@code [N_C, M]} for a
     * 2-D C).
     *
     * @param c the old C, or null when absent
     * @param scale per-column factor, or null for 1
     * @return the tensor, or null when C does not broadcast to {@code [·, M]} the way Gemm allows
     */
    private static Tensor gemmBias(Tensor c, double beta, int m, double[] scale, double[] shift) {
        int rows = 1;
        int cCols = 1;
        long[] dims = {m};
        double[] cv = null;
        if (c != null) {
            long[] cd = c.dims();
            if (cd.length > 2) {
                return null;
            }
            cCols = cd.length == 0 ? 1 : Math.toIntExact(cd[cd.length - 1]);
            if (cCols != 1 && cCols != m) {
                return null;
            }
            if (cd.length == 2) {
                rows = Math.toIntExact(cd[0]);
                dims = new long[] {rows, m};
            }
            cv = c.toDoubleArray();
        }
        float[] out = new float[Math.multiplyExact(rows, m)];
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < m; j++) {
                double value = cv == null ? 0 : beta * cv[r * cCols + (cCols == 1 ? 0 : j)];
                out[r * m + j] = (float) (value * (scale == null ? 1 : scale[j]) + shift[j]);
            }
        }
        return Tensor.ofFloats("", dims, out);
    }

    /** @return the second Transpose of a Transpose → BN → Transpose pair that cancels, or null */
    private static Node inverseTranspose(Value bnOut, long[] perm) {
        if (!GraphEdits.hasSoleUse(bnOut)) {
            return null;
        }
        Use use = bnOut.uses().get(0);
        Node t2 = use.node();
        long[] q = t2.is("Transpose") && t2.graph() == bnOut.graph() ? t2.intsAttr("perm") : null;
        if (q == null || q.length != perm.length) {
            return null;
        }
        for (int i = 0; i < q.length; i++) {
            // T2(T1(x)) reads axis perm[q[i]] of x at axis i
            if (q[i] < 0 || q[i] >= perm.length || perm[(int) q[i]] != i) {
                return null;
            }
        }
        return t2;
    }

    /** @return true when the Conv adds no padding: pads all 0 and auto_pad NOTSET or VALID */
    private static boolean padsNothing(Node conv) {
        String autoPad = conv.stringAttr("auto_pad", "NOTSET");
        if (!autoPad.equals("NOTSET") && !autoPad.equals("VALID")) {
            return false;
        }
        long[] pads = conv.intsAttr("pads");
        return pads == null || Arrays.stream(pads).allMatch(p -> p == 0);
    }

    private static void setBetaToOne(Node gemm) {
        if (gemm.attribute("beta") != null) {
            gemm.setAttribute(Attribute.ofFloat("beta", 1f));
        }
    }

    /** @return a name hint for a folded constant: the old constant's name, else the BN's parameter name */
    private static String hint(Value old, Node bn, String what) {
        if (old != null) {
            return old.name() + "_folded";
        }
        Value beta = bn.input(2);
        return (beta != null && !beta.name().isEmpty() ? beta.name() : bn.name() + "_" + what) + "_folded";
    }

    private static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
