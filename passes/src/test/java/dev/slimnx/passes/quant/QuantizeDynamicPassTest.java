package dev.slimnx.passes.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QuantizeDynamicPassTest {
    private static final long SEED = 20240612L;
    private static final QuantizeDynamicPass PASS = new QuantizeDynamicPass();
    private static final String DQMM = "com.microsoft:DynamicQuantizeMatMul";
    /** Largest weight code, see QuantizeDynamicPass. */
    private static final int QMAX = 64;

    // ---- the arithmetic the tests check against, written out independently of the pass ----

    /** Per-column scales of a [K, N] weight: max |W[:, n]| / 64, 1 for a zero column. */
    private static float[] columnScales(float[] w, int k, int n) {
        float[] s = new float[n];
        for (int c = 0; c < n; c++) {
            double max = 0;
            for (int r = 0; r < k; r++) {
                max = Math.max(max, Math.abs(w[r * n + c]));
            }
            s[c] = max > 0 ? (float) (max / QMAX) : 1f;
        }
        return s;
    }

    /** s_x of DynamicQuantizeLinear: the range widened to include 0, over 255. */
    private static float activationScale(float[] x) {
        float lo = 0;
        float hi = 0;
        for (float v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return (hi - lo) / 255f;
    }

    /**
     * Asserts that {@code got[m, n]} is within the quantization bound of {@code Σ_k x[m, k]·w[k, n] +
     * bias[n]}: {@code Σ_k (|x|·s_w[n]/2 + |w|·s_x/2 + s_x·s_w[n]/4)}, plus 1e-5 of the magnitudes
     * for float rounding. {@code bias} is null, {@code [N]} or a full {@code [M, N]} addend.
     *
     * @return the largest error seen
     */
    private static double assertWithinScaleBound(float[] x, float[] w, float[] bias, float[] wScales, int k, int n,
                                                 float[] got) {
        float sx = activationScale(x);
        int rows = x.length / k;
        assertEquals(rows * n, got.length);
        double worst = 0;
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < n; c++) {
                float sw = wScales.length == 1 ? wScales[0] : wScales[c];
                double exact = bias == null ? 0 : bias.length == n ? bias[c] : bias[r * n + c];
                double bound = 0;
                double magnitude = Math.abs(exact);
                for (int i = 0; i < k; i++) {
                    double xv = x[r * k + i];
                    double wv = w[i * n + c];
                    exact += xv * wv;
                    bound += Math.abs(xv) * sw / 2 + Math.abs(wv) * sx / 2 + (double) sx * sw / 4;
                    magnitude += Math.abs(xv * wv);
                }
                double err = Math.abs(got[r * n + c] - exact);
                worst = Math.max(worst, err);
                double limit = bound + 1e-5 * magnitude;
                int row = r;
                int col = c;
                assertTrue(err <= limit, () -> "output [" + row + ", " + col + "]: error " + err + " above the bound "
                        + limit);
            }
        }
        return worst;
    }

    private static Model matMul(long[] xDims, int k, int n) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Object[] dims = new Object[xDims.length];
        dims[0] = "batch";
        for (int i = 1; i < xDims.length; i++) {
            dims[i] = xDims[i];
        }
        Value x = b.input("x", DataType.FLOAT, dims);
        Value w = b.initializer(b.randomFloats("w", k, n));
        b.output(b.node("MatMul", x, w).name("proj").value());
        return b.build();
    }

    private static Map<String, Tensor> feed(long... dims) {
        int count = Math.toIntExact(Tensor.elementCount(dims));
        return Map.of("x", Tensor.ofFloats("x", dims, QuantTesting.gaussian(SEED, count)));
    }

    private static float[] weightOf(Model m) {
        return m.graph().initializer("w").initializer().toFloatArray();
    }

    // ---- MatMul ----

    @Test
    void matMulOnTokensBecomesDynamicQuantizeMatMulWithinTheScaleBound() {
        Model model = matMul(new long[] {2, 5, 48}, 48, 24);
        float[] w = weightOf(model);
        String output = model.graph().outputs().get(0).name();

        PassResult result = PassTesting.run(PASS, model);

        assertEquals(Map.of("MatMul", 1), result.counts());
        assertEquals(Map.of(DQMM, 1), QuantTesting.ops(model));
        assertEquals(List.of(output), QuantTesting.outputNames(model), "the graph output keeps its name");
        assertEquals(1, model.opsetVersion("com.microsoft"));
        assertNull(model.graph().initializer("w"), "the float weight is gone");

        Map<String, Tensor> feeds = feed(2, 5, 48);
        float[] got = QuantTesting.run(model, feeds);
        double worst = assertWithinScaleBound(feeds.get("x").toFloatArray(), w, null, columnScales(w, 48, 24), 48,
                24, got);
        assertTrue(worst > 1e-4, "the activations and weights really were quantized");
    }

    @Test
    void perChannelScalesAndCodesAreExact() {
        Model model = matMul(new long[] {2, 7, 40}, 40, 12);
        float[] w = weightOf(model);
        PassTesting.run(PASS, model);

        Node dq = QuantTesting.node(model, "DynamicQuantizeMatMul");
        Tensor codes = QuantTesting.input(dq, 1);
        Tensor scales = QuantTesting.input(dq, 2);
        assertEquals(DataType.INT8, codes.dataType());
        assertArrayEquals(new long[] {40, 12}, codes.dims());
        assertArrayEquals(new long[] {12}, scales.dims());
        float[] expected = columnScales(w, 40, 12);
        assertArrayEquals(expected, scales.toFloatArray(), 0f, "s_w[n] = max|W[:, n]| / 64, exactly");
        long[] q = codes.toLongArray();
        for (int c = 0; c < 12; c++) {
            int maxCode = 0;
            for (int r = 0; r < 40; r++) {
                long code = q[r * 12 + c];
                assertEquals(Math.rint(w[r * 12 + c] / (double) expected[c]), code, 0.0, "round half to even");
                maxCode = Math.max(maxCode, (int) Math.abs(code));
            }
            assertEquals(QMAX, maxCode, "each column's largest weight maps to ±64");
        }
    }

    @Test
    void outputsMatchTheIntegerArithmeticExactly() {
        Model model = matMul(new long[] {3, 4, 64}, 64, 16);
        float[] w = weightOf(model);
        PassTesting.run(PASS, model);
        Map<String, Tensor> feeds = feed(3, 4, 64);
        float[] x = feeds.get("x").toFloatArray();
        float[] got = QuantTesting.run(model, feeds);

        // DynamicQuantizeLinear as ONNX defines it, then the int32 sum of the products
        float lo = 0;
        float hi = 0;
        for (float v : x) {
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        float sx = (hi - lo) / 255f;
        int zx = (int) Math.max(0, Math.min(255, Math.rint(-lo / sx)));
        float[] sw = columnScales(w, 64, 16);
        for (int r = 0; r < x.length / 64; r++) {
            for (int c = 0; c < 16; c++) {
                long acc = 0;
                for (int i = 0; i < 64; i++) {
                    long xq = (long) Math.max(0, Math.min(255, Math.rint(x[r * 64 + i] / sx) + zx));
                    long wq = (long) Math.max(-QMAX, Math.min(QMAX, Math.rint(w[i * 16 + c] / sw[c])));
                    acc += (xq - zx) * wq;
                }
                double expected = acc * (double) (sx * sw[c]);
                assertEquals(expected, got[r * 16 + c], 1e-5 * Math.abs(expected) + 1e-6,
                        "row " + r + ", column " + c);
            }
        }
    }

    @Test
    void largeActivationsAgainstLargeWeightsDoNotSaturate() {
        // x = 1 everywhere: codes 255 (zero point 0); a column of equal weights: codes 64. Every
        // pair of products is 2·255·64 = 32640, inside int16; with codes up to 127 the u8×s8
        // kernels of AVX2 would clamp each pair to 32767 and the result would be half of K.
        int k = 256;
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 1, k);
        float[] w = new float[k * 2];
        for (int i = 0; i < k; i++) {
            w[i * 2] = 0.75f;
            w[i * 2 + 1] = -0.75f;
        }
        Value wv = b.initializer(Tensor.ofFloats("w", new long[] {k, 2}, w));
        b.output(b.op("MatMul", x, wv));
        Model model = b.build();
        PassTesting.run(PASS, model);
        float[] ones = new float[k];
        Arrays.fill(ones, 1f);
        float[] got = QuantTesting.run(model, Map.of("x", Tensor.ofFloats("x", new long[] {1, k}, ones)));
        assertArrayEquals(new float[] {0.75f * k, -0.75f * k}, got, 1e-3f);
    }

    @Test
    void perTensorScaleIsOneForTheWholeWeight() {
        Model model = matMul(new long[] {2, 3, 32}, 32, 8);
        float[] w = weightOf(model);
        PassTesting.run(new QuantizeDynamicPass(new QuantizeDynamicPass.Options(Set.of("MatMul"), false, Set.of())),
                model);
        Tensor scale = QuantTesting.input(QuantTesting.node(model, "DynamicQuantizeMatMul"), 2);
        double max = 0;
        for (float v : w) {
            max = Math.max(max, Math.abs(v));
        }
        assertEquals(0, scale.rank(), "a scalar scale");
        assertEquals((float) (max / QMAX), scale.toFloatArray()[0], 0f);
        Map<String, Tensor> feeds = feed(2, 3, 32);
        assertWithinScaleBound(feeds.get("x").toFloatArray(), w, null, scale.toFloatArray(), 32, 8,
                QuantTesting.run(model, feeds));
    }

    @Test
    void biasAddAfterTheMatMulBecomesTheBiasInput() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 6, 32);
        Value w = b.initializer(b.randomFloats("w", 32, 20));
        Tensor biasTensor = b.randomFloats("bias", 20);
        Value bias = b.initializer(biasTensor);
        Value y = b.op("MatMul", x, w);
        b.output(b.op("Add", bias, y)); // the bias first: either order folds
        Model model = b.build();
        float[] wv = weightOf(model);
        String output = model.graph().outputs().get(0).name();

        assertEquals(Map.of("MatMul", 1), PassTesting.run(PASS, model).counts());
        assertEquals(Map.of(DQMM, 1), QuantTesting.ops(model), "the Add went into the node");
        assertEquals(List.of(output), QuantTesting.outputNames(model));
        Node dq = QuantTesting.node(model, "DynamicQuantizeMatMul");
        assertNull(dq.input(3), "no weight zero point");
        assertArrayEquals(biasTensor.toFloatArray(), QuantTesting.input(dq, 4).toFloatArray(), 0f);

        Map<String, Tensor> feeds = feed(2, 6, 32);
        assertWithinScaleBound(feeds.get("x").toFloatArray(), wv, biasTensor.toFloatArray(), columnScales(wv, 32, 20),
                32, 20, QuantTesting.run(model, feeds));
    }

    @Test
    void anAddOfAComputedValueOrAWiderConstantStaysAnAdd() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 4, 16);
        Value r = b.input("residual", DataType.FLOAT, 4, 8);
        Value y1 = b.op("MatMul", x, b.initializer(b.randomFloats("w1", 16, 8)));
        b.output(b.op("Add", y1, r));
        Value y2 = b.op("MatMul", x, b.initializer(b.randomFloats("w2", 16, 8)));
        b.output(b.op("Add", y2, b.initializer(b.randomFloats("full", 4, 8)))); // [M, N]: not a bias
        Model model = b.build();

        assertEquals(Map.of("MatMul", 2), PassTesting.run(PASS, model).counts());
        assertEquals(Map.of(DQMM, 2, "Add", 2), QuantTesting.ops(model));
    }

    // ---- Gemm ----

    @ParameterizedTest
    @ValueSource(strings = {"vector", "row", "scalar"})
    void gemmWithTransBAlphaBetaAndABiasLikeC(String cShape) {
        int k = 24;
        int n = 10;
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value a = b.input("x", DataType.FLOAT, "batch", k);
        Tensor bt = b.randomFloats("w", n, k); // transB: stored [N, K]
        long[] cDims = switch (cShape) {
            case "vector" -> new long[] {n};
            case "row" -> new long[] {1, n};
            default -> new long[0];
        };
        Tensor ct = b.randomFloats("c", cDims);
        b.output(b.node("Gemm", a, b.initializer(bt), b.initializer(ct)).attr("transB", 1L)
                .attr("alpha", 0.5f).attr("beta", 2f).name("head").value());
        Model model = b.build();

        assertEquals(Map.of("Gemm", 1), PassTesting.run(PASS, model).counts());
        assertEquals(Map.of(DQMM, 1), QuantTesting.ops(model));

        float[] w = new float[k * n]; // α·Bᵀ
        float[] bv = bt.toFloatArray();
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < k; c++) {
                w[c * n + r] = 0.5f * bv[r * k + c];
            }
        }
        float[] bias = new float[n];
        float[] cv = ct.toFloatArray();
        for (int c = 0; c < n; c++) {
            bias[c] = 2f * cv[cv.length == 1 ? 0 : c];
        }
        Map<String, Tensor> feeds = feed(3, k);
        assertWithinScaleBound(feeds.get("x").toFloatArray(), w, bias, columnScales(w, k, n), k, n,
                QuantTesting.run(model, feeds));
    }

    @Test
    void gemmWithAFullCOrAComputedCAddsItAfterwards() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value a = b.input("x", DataType.FLOAT, 3, 16);
        Value c = b.input("c", DataType.FLOAT, 3, 6);
        b.output(b.node("Gemm", a, b.initializer(b.randomFloats("w1", 16, 6)),
                b.initializer(b.randomFloats("full", 3, 6))).attr("beta", 0.5f).value());
        b.output(b.op("Gemm", a, b.initializer(b.randomFloats("w2", 16, 6)), c));
        Model model = b.build();
        float[] w1 = model.graph().initializer("w1").initializer().toFloatArray();
        float[] w2 = model.graph().initializer("w2").initializer().toFloatArray();
        float[] full = model.graph().initializer("full").initializer().toFloatArray();
        List<String> outputs = QuantTesting.outputNames(model);

        assertEquals(Map.of("Gemm", 2), PassTesting.run(PASS, model).counts());
        assertEquals(Map.of(DQMM, 2, "Add", 2), QuantTesting.ops(model));
        assertEquals(outputs, QuantTesting.outputNames(model));
        float[] xv = QuantTesting.gaussian(1, 48);
        float[] cv = QuantTesting.gaussian(2, 18);
        Map<String, Tensor> got = QuantTesting.runAll(model, Map.of("x", Tensor.ofFloats("x", new long[] {3, 16}, xv),
                "c", Tensor.ofFloats("c", new long[] {3, 6}, cv)));
        float[] halfFull = new float[full.length];
        for (int i = 0; i < full.length; i++) {
            halfFull[i] = 0.5f * full[i];
        }
        assertWithinScaleBound(xv, w1, halfFull, columnScales(w1, 16, 6), 16, 6,
                got.get(outputs.get(0)).toFloatArray());
        assertWithinScaleBound(xv, w2, cv, columnScales(w2, 16, 6), 16, 6, got.get(outputs.get(1)).toFloatArray());
    }

    @Test
    void gemmsItCannotExpressStayFloat() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value a = b.input("x", DataType.FLOAT, 8, 8);
        Value c = b.input("c", DataType.FLOAT, 8, 8);
        Value w = b.initializer(b.randomFloats("w", 8, 8));
        b.output(b.node("Gemm", a, w).attr("transA", 1L).value());
        b.output(b.node("Gemm", a, w, c).attr("beta", 0.5f).value()); // computed C times β ≠ 1
        PassTesting.assertUnchanged(PASS, b.build());
    }

    // ---- what stays float ----

    @Test
    void weightsThatAreNotTwoDimensionalFloatConstantsStayFloat() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 4, 8);
        Value w = b.input("w_in", DataType.FLOAT, 8, 8); // a graph input: not constant
        b.output(b.op("MatMul", x, w));
        b.output(b.op("MatMul", x, b.initializer(b.randomFloats("w3", 2, 8, 8)))); // batched weight
        Value half = b.initializer(Tensor.ofRaw("wh", DataType.FLOAT16, new long[] {8, 8},
                java.nio.ByteBuffer.allocate(128)));
        Value xh = b.node("Cast", x).attr("to", 10L).value();
        b.output(b.op("MatMul", xh, half)); // float16
        PassTesting.assertUnchanged(PASS, b.build());
    }

    @Test
    void anInitializerThatIsAlsoAGraphInputIsNotConstant() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        Value w = b.input("w", DataType.FLOAT, 8, 4);
        b.graph().addInitializer(w, b.randomFloats("w", 8, 4)); // a default the caller may override
        b.output(b.op("MatMul", x, w));
        PassTesting.assertUnchanged(PASS, b.build());
    }

    @Test
    void activationsOfUnknownRankOrRankOneStayFloat() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 8);
        Value w = b.initializer(b.randomFloats("w", 8, 4));
        b.output(b.op("MatMul", x, w));
        Value unknown = new Value("u", ValueType.TensorType.of(DataType.FLOAT, null));
        b.graph().addInput(unknown);
        b.output(b.op("MatMul", unknown, w));
        PassTesting.assertUnchanged(PASS, b.build());
    }

    @Test
    void excludedNodesAndOpTypesStayFloat() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 16);
        Value h = b.node("MatMul", x, b.initializer(b.randomFloats("w1", 16, 16))).name("keep_me").value();
        Value h2 = b.node("MatMul", h, b.initializer(b.randomFloats("w2", 16, 16))).name("quantize_me").value();
        b.output(b.op("Gemm", h2, b.initializer(b.randomFloats("w3", 16, 4))));
        Model model = b.build();

        QuantizeDynamicPass pass = new QuantizeDynamicPass(new QuantizeDynamicPass.Options(Set.of("MatMul", "Gemm"),
                true, Set.of("keep_me", "Gemm")));
        assertEquals(Map.of("MatMul", 1), PassTesting.run(pass, model).counts());
        assertEquals(Map.of("MatMul", 1, "Gemm", 1, DQMM, 1), QuantTesting.ops(model));
        assertEquals("keep_me", QuantTesting.node(model, "MatMul").name());
        assertTrue(model.graph().initializer("w1") != null && model.graph().initializer("w3") != null);
    }

    @Test
    void opTypesNotAskedForStayFloat() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 16);
        Value h = b.op("MatMul", x, b.initializer(b.randomFloats("w1", 16, 16)));
        b.output(b.op("Gemm", h, b.initializer(b.randomFloats("w2", 16, 4))));
        Model model = b.build();
        QuantizeDynamicPass gemmOnly = new QuantizeDynamicPass(new QuantizeDynamicPass.Options(Set.of("Gemm"), true,
                Set.of()));
        assertEquals(Map.of("Gemm", 1), PassTesting.run(gemmOnly, model).counts());
        assertEquals(Map.of("MatMul", 1, DQMM, 1), QuantTesting.ops(model));
    }

    @Test
    void aModelWithNothingToQuantizeIsLeftAloneTwice() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 4, 8);
        Value y = b.input("y", DataType.FLOAT, 2, 8, 4);
        b.output(b.op("MatMul", x, y)); // attention-like: no constant weight
        PassTesting.assertIdempotent(PASS, b.build());
    }

    /** An If whose branches multiply the outer x by the outer weight w: then by MatMul, else by Gemm. */
    static Model ifWithProductsInBothBranches(int k, int n) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value cond = b.input("cond", DataType.BOOL);
        Value x = b.input("x", DataType.FLOAT, 3, k);
        Value w = b.initializer(b.randomFloats("w", k, n));
        Graph then = new Graph();
        then.setName("then");
        then.addNode(new Node("", "MatMul", List.of(x, w), List.of(new Value("then_y")), List.of()));
        Graph other = new Graph();
        other.setName("else");
        other.addNode(new Node("", "Gemm", List.of(x, w), List.of(new Value("else_y")), List.of()));
        for (Graph g : List.of(then, other)) {
            Value out = g.nodes().get(0).output(0);
            out.setType(ValueType.TensorType.of(DataType.FLOAT, GraphBuilder.shape(3, n)));
            g.addOutput(out);
        }
        b.output(b.node("If", cond).attr(Attribute.ofGraph("then_branch", then))
                .attr(Attribute.ofGraph("else_branch", other)).value());
        return b.build();
    }

    @Test
    void productsInsideIfBranchesAreQuantizedToo() {
        Model model = ifWithProductsInBothBranches(32, 6);
        float[] w = weightOf(model);
        assertEquals(Map.of("MatMul", 1, "Gemm", 1), PassTesting.run(PASS, model).counts());
        Node branchy = QuantTesting.node(model, "If");
        for (Graph g : branchy.subgraphs()) {
            assertEquals(List.of("DynamicQuantizeMatMul"), g.nodes().stream().map(Node::opType).toList());
            assertEquals(2, g.initializers().size(), "the int8 weight and its scales live in the branch");
        }
        assertNull(model.graph().initializer("w"), "the outer float weight nobody reads any more is gone");
        float[] x = QuantTesting.gaussian(SEED, 3 * 32);
        for (boolean c : new boolean[] {true, false}) {
            float[] got = QuantTesting.run(model, Map.of("cond", Tensor.ofIntegers("cond", DataType.BOOL, new long[0],
                    c ? 1 : 0), "x", Tensor.ofFloats("x", new long[] {3, 32}, x)));
            assertWithinScaleBound(x, w, null, columnScales(w, 32, 6), 32, 6, got);
        }
    }

    // ---- sharing, size, refusal ----

    @Test
    void aSharedWeightIsQuantizedOnceAndTheModelShrinks() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 64);
        Value w = b.initializer(b.randomFloats("w", 64, 64));
        Value h = b.op("MatMul", x, w);
        b.output(b.op("MatMul", h, w));
        Model model = b.build();
        long before = QuantTesting.bytes(model);

        assertEquals(Map.of("MatMul", 2), PassTesting.run(PASS, model).counts());
        long int8 = model.graph().initializers().stream()
                .filter(v -> v.initializer().dataType() == DataType.INT8).count();
        assertEquals(1, int8, "one int8 weight for both nodes");
        assertEquals(0, model.graph().initializers().stream()
                .filter(v -> v.initializer().dataType() == DataType.FLOAT && v.initializer().numElements() > 64)
                .count(),
                "no float weight left");
        assertTrue(QuantTesting.bytes(model) < before / 3, "int8 weights: about a quarter of the bytes");
    }

    @Test
    void aWeightSharedThroughIdentityIsQuantizedOnceAndTheIdentityGoes() {
        // how PyTorch exports a weight two modules share
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 32);
        Value w = b.initializer(b.randomFloats("w", 32, 16));
        b.output(b.op("MatMul", x, w));
        b.output(b.op("MatMul", x, b.op("Identity", w)));
        Model model = b.build();
        float[] wv = weightOf(model);

        assertEquals(Map.of("MatMul", 2), PassTesting.run(PASS, model).counts());
        assertEquals(Map.of(DQMM, 2), QuantTesting.ops(model), "the Identity is gone");
        assertNull(model.graph().initializer("w"));
        assertEquals(1, model.graph().initializers().stream()
                .filter(v -> v.initializer().dataType() == DataType.INT8).count());
        float[] xv = QuantTesting.gaussian(SEED, 64);
        Map<String, Tensor> got = QuantTesting.runAll(model, Map.of("x", Tensor.ofFloats("x", new long[] {2, 32}, xv)));
        for (Tensor y : got.values()) {
            assertWithinScaleBound(xv, wv, null, columnScales(wv, 32, 16), 32, 16, y.toFloatArray());
        }
    }

    @Test
    void anAlreadyQuantizedModelIsRefused() {
        Model model = matMul(new long[] {2, 3, 16}, 16, 8);
        PassTesting.run(PASS, model);
        PassRefusedException again = assertThrows(PassRefusedException.class, () -> PASS.requires(model));
        assertTrue(again.getMessage().contains("already quantized"), again.getMessage());
        assertTrue(again.getMessage().contains("DynamicQuantizeMatMul"), again.getMessage());

        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        Value q = b.initializer(Tensor.ofRaw("q", DataType.INT8, new long[] {8, 4}, java.nio.ByteBuffer.allocate(32)));
        Value s = b.initializer(Tensor.ofFloats("s", new long[0], 0.1f));
        b.output(b.op("MatMul", x, b.op("DequantizeLinear", q, s)));
        Model qdq = b.build();
        assertThrows(PassRefusedException.class, () -> PASS.requires(qdq));
    }

    // ---- options ----

    @Test
    void optionsAreCheckedAndReadFromText() {
        assertThrows(IllegalArgumentException.class,
                () -> new QuantizeDynamicPass.Options(Set.of(), true, Set.of()));
        IllegalArgumentException conv = assertThrows(IllegalArgumentException.class,
                () -> new QuantizeDynamicPass.Options(Set.of("Conv"), true, Set.of()));
        assertTrue(conv.getMessage().contains("Conv") && conv.getMessage().contains("MatMul"), conv.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new QuantizeDynamicPass.Options(Set.of("MatMul"), true, Set.of(" ")));

        QuantizeDynamicPass fromText = (QuantizeDynamicPass) QuantizeDynamicPass.DESCRIPTOR.create(
                Map.of("op-types", "Gemm", "per-channel", "false", "exclude", "a, b"));
        assertEquals(new QuantizeDynamicPass.Options(Set.of("Gemm"), false, Set.of("a", "b")), fromText.options());
        assertEquals(QuantizeDynamicPass.Options.defaults(),
                ((QuantizeDynamicPass) QuantizeDynamicPass.DESCRIPTOR.create(Map.of())).options());
        assertFalse(QuantizeDynamicPass.DESCRIPTOR.lossless());
        assertThrows(IllegalArgumentException.class,
                () -> QuantizeDynamicPass.DESCRIPTOR.create(Map.of("per-channel", "maybe")));
    }

    // ---- reference models ----

    @ParameterizedTest
    @ValueSource(strings = {"vit", "deepvit"})
    void referenceModelsLoseAtMostHalfAPointOfTop1(String name) throws Exception {
        Model original = OnnxReader.read(Path.of("../reference-models/models/" + name + ".onnx"));
        Model quantized = original.copy();
        PassResult result = PassTesting.run(PASS, quantized);

        double before = QuantTesting.top1(original, QuantTesting.REFERENCE_IMAGES);
        double after = QuantTesting.top1(quantized, QuantTesting.REFERENCE_IMAGES);
        double ratio = (double) QuantTesting.bytes(quantized) / QuantTesting.bytes(original);
        System.out.printf("quantize-dynamic %s: %s; top-1 on %d images %.2f%% -> %.2f%% (drop %.2f points); "
                        + "size %d -> %d bytes (%.3fx)%n", name, result.summary(), QuantTesting.REFERENCE_IMAGES,
                before, after, before - after, QuantTesting.bytes(original), QuantTesting.bytes(quantized), ratio);
        assertTrue(result.counts().getOrDefault("MatMul", 0) >= 24, "every linear layer of the six blocks");
        assertTrue(before - after <= 0.5, () -> name + " lost " + (before - after) + " points");
        assertTrue(ratio < 0.4, () -> name + " size ratio " + ratio);
    }
}
