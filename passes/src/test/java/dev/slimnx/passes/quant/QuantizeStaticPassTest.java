package dev.slimnx.passes.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.cleanup.CompactPass;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import dev.slimnx.passes.PassManager;
import dev.slimnx.passes.PassRegistry;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class QuantizeStaticPassTest {
    /** Float32 rounding of the products and sums the bounds do not count. */
    private static final double FLOAT_SLACK = 1e-5;

    @TempDir
    Path tmp;

    // ---- helpers ----

    /** Random feeds (dynamic dims = 4), one list per batch; the same feeds calibrate and test. */
    private static List<Map<String, Tensor>> batches(Model m, int count) {
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(PassTesting.randomFeeds(m, 100 + i, 4));
        }
        return out;
    }

    private static QuantizeStaticPass pass(List<Map<String, Tensor>> batches) {
        return new QuantizeStaticPass(QuantizeStaticPass.Options.defaults(CalibrationData.of(batches)));
    }

    private static Map<String, Integer> opCounts(Model m) {
        Map<String, Integer> counts = new TreeMap<>();
        for (Node n : m.graph().nodes()) {
            counts.merge(n.opType(), 1, Integer::sum);
        }
        return counts;
    }

    /** @return the op types ONNX Runtime runs after all its optimizations */
    private Map<String, Integer> ortOps(Model m) {
        Path file = tmp.resolve("optimized-" + System.nanoTime() + ".onnx");
        ModelRunner.writeOptimized(m, RunOptions.defaults(), file);
        try {
            return opCounts(OnnxReader.read(file));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static Map<String, Tensor> run(Model m, Map<String, Tensor> feeds, RunOptions options) {
        try (ModelRunner r = ModelRunner.open(m, options)) {
            return r.run(feeds);
        }
    }

    /** Both ways ONNX Runtime can run a QDQ model: as written, and with its integer fusions. */
    private static List<RunOptions> runtimes() {
        return List.of(RunOptions.reference(), RunOptions.defaults().withIntraOpThreads(1));
    }

    private static Node producerOf(Model m, String valueName) {
        return m.graph().valuesByName().get(valueName).producer();
    }

    /** @return the QuantizeLinear reading the value of that name */
    private static Node quantizeOf(Model m, String valueName) {
        Node found = null;
        for (Node n : m.graph().nodes()) {
            if (n.is("QuantizeLinear") && n.input(0).name().equals(valueName)) {
                assertNull(found, "two QuantizeLinear read " + valueName);
                found = n;
            }
        }
        assertTrue(found != null, "no QuantizeLinear reads " + valueName);
        return found;
    }

    private static float[] constant(Value v) {
        Tensor t = GraphEdits.constant(v);
        assertTrue(t != null, v.name() + " is not constant");
        return t.toFloatArray();
    }

    private static QuantMath.Affine expectedAffine(List<Map<String, Tensor>> batches, String input) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        for (Map<String, Tensor> b : batches) {
            for (float v : b.get(input).toFloatArray()) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        double lo = Math.min(min, 0);
        double hi = Math.max(max, 0);
        float scale = (float) ((hi - lo) / 255);
        return new QuantMath.Affine(scale, (int) Math.rint(-lo / scale));
    }

    /**
     * Asserts {@code |got − expected| ≤ bound + slack·(1 + |expected|)} elementwise.
     */
    private static void assertWithin(float[] expected, float[] got, double[] bound, String what) {
        assertEquals(expected.length, got.length);
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(got[i] - expected[i]);
            double allowed = bound[i] + FLOAT_SLACK * (1 + Math.abs(expected[i]));
            int at = i;
            assertTrue(err <= allowed, () -> what + ": element " + at + " off by " + err + ", bound " + allowed);
        }
    }

    /**
     * The bound of a product {@code Σ_k x_k·w_k} whose factors are off by at most half a step:
     * {@code Σ_k (|x_k|·sw/2 + |w_k|·sx/2 + sx·sw/4)}.
     */
    private static double productBound(double sumAbsX, double sumAbsW, int terms, double sx, double sw) {
        return sumAbsX * sw / 2 + sumAbsW * sx / 2 + terms * sx * sw / 4;
    }

    // ---- MatMul ----

    /** x[n, 8] · W[8, 5] → y. */
    private static Model matMul() {
        GraphBuilder b = new GraphBuilder(17, 5);
        Value x = b.input("x", DataType.FLOAT, "n", 8);
        Value w = b.initializer(b.randomFloats("W", 8, 5));
        b.output(b.op("MatMul", x, w), DataType.FLOAT, "n", 5).setName("y");
        return b.build();
    }

    @Test
    void matMulWeightsPerColumnActivationsFromCalibration() {
        Model m = matMul();
        Model before = m.copy();
        float[] w = constant(m.graph().initializer("W"));
        List<Map<String, Tensor>> data = batches(m, 2);
        PassResult r = PassTesting.run(pass(data), m);

        assertEquals(1, r.counts().get("MatMul"));
        assertEquals(8 * 5 * 4, r.counts().get(QuantizeStaticPass.BYTES_BEFORE));
        assertEquals(8 * 5 + 5 * 5, r.counts().get(QuantizeStaticPass.BYTES_AFTER));
        assertEquals(Map.of("DequantizeLinear", 2, "MatMul", 1, "QuantizeLinear", 1), opCounts(m));
        assertEquals("y", m.graph().outputs().get(0).name());
        assertNull(m.graph().initializer("W"), "the float weight is gone");

        Node matMul = producerOf(m, "y");
        Node weightDq = matMul.input(1).producer();
        assertTrue(weightDq.is("DequantizeLinear"));
        Tensor q = GraphEdits.constant(weightDq.input(0));
        assertEquals(DataType.INT8, q.dataType());
        assertArrayEquals(new long[] {8, 5}, q.dims());
        assertEquals(1, weightDq.intAttr("axis", 1), "scales along the columns");
        float[] scales = constant(weightDq.input(1));
        long[] values = q.toLongArray();
        for (int c = 0; c < 5; c++) {
            double maxAbs = 0;
            for (int k = 0; k < 8; k++) {
                maxAbs = Math.max(maxAbs, Math.abs(w[k * 5 + c]));
            }
            assertEquals((float) (maxAbs / QuantMath.INT8_REDUCED_MAX), scales[c], 0f, "column " + c + ": max|w| / 64");
            for (int k = 0; k < 8; k++) {
                assertEquals(Math.rint(w[k * 5 + c] / scales[c]), values[k * 5 + c], 0);
                assertTrue(Math.abs(values[k * 5 + c]) <= QuantMath.INT8_REDUCED_MAX);
            }
        }
        assertArrayEquals(new long[] {0, 0, 0, 0, 0}, GraphEdits.constant(weightDq.input(2)).toLongArray());

        Node quantize = quantizeOf(m, "x");
        QuantMath.Affine expected = expectedAffine(data, "x");
        assertEquals(expected.scale(), constant(quantize.input(1))[0], 0f);
        Tensor zero = GraphEdits.constant(quantize.input(2));
        assertEquals(DataType.UINT8, zero.dataType());
        assertEquals(expected.zeroPoint(), zero.toLongArray()[0] & 0xFF);
        assertSame(quantize.output(0).uses().get(0).node().output(0), matMul.input(0), "x is read through the pair");

        float sx = expected.scale();
        for (RunOptions options : runtimes()) {
            for (Map<String, Tensor> feeds : data) {
                float[] x = feeds.get("x").toFloatArray();
                float[] want = run(before, feeds, options).get("y").toFloatArray();
                float[] got = run(m, feeds, options).get("y").toFloatArray();
                double[] bound = new double[want.length];
                for (int i = 0; i < want.length; i++) {
                    int row = i / 5;
                    int c = i % 5;
                    double sumX = 0;
                    double sumW = 0;
                    for (int k = 0; k < 8; k++) {
                        sumX += Math.abs(x[row * 8 + k]);
                        sumW += Math.abs(w[k * 5 + c]);
                    }
                    bound[i] = productBound(sumX, sumW, 8, sx, scales[c]);
                }
                assertWithin(want, got, bound, "y with " + options.optimizationLevel());
            }
        }
        Map<String, Integer> ort = ortOps(m);
        assertEquals(1, ort.get("MatMulIntegerToFloat"), () -> "ONNX Runtime runs " + ort);
        assertFalse(ort.containsKey("MatMul"), () -> "ONNX Runtime runs " + ort);
    }

    @Test
    void fullRangePerTensorWeightsWhenAsked() {
        Model m = matMul();
        float[] w = constant(m.graph().initializer("W"));
        QuantizeStaticPass.Options o = new QuantizeStaticPass.Options(CalibrationData.of(batches(m, 1)), 0,
                CalibrationMethod.MINMAX, 99.999, false, true, Set.of("MatMul"), Set.of(), false, false);
        PassTesting.run(new QuantizeStaticPass(o), m);
        Node dq = producerOf(m, "y").input(1).producer();
        Tensor scale = GraphEdits.constant(dq.input(1));
        assertEquals(0, scale.rank(), "one scale for the tensor");
        double maxAbs = 0;
        for (float v : w) {
            maxAbs = Math.max(maxAbs, Math.abs(v));
        }
        float s = (float) (maxAbs / 127);
        assertEquals(s, scale.toFloatArray()[0], 0f, "max|W| / 127");
        long[] q = GraphEdits.constant(dq.input(0)).toLongArray();
        long extreme = 0;
        for (int i = 0; i < w.length; i++) {
            assertEquals(Math.rint(w[i] / s), q[i], 0);
            extreme = Math.max(extreme, Math.abs(q[i]));
        }
        assertEquals(127, extreme, "the largest weight takes the full range");
        assertNull(dq.attribute("axis"));
    }

    @Test
    void zeroIsExactlyRepresentedInEveryActivationPair() {
        // x is all positive: the range is widened to hold 0, whose quantized value is the zero point
        GraphBuilder b = new GraphBuilder(17, 9);
        Value x = b.input("x", DataType.FLOAT, "n", 4);
        Value shifted = b.op("Add", x, b.initializer(Tensor.ofFloats("five", new long[0], 5f)));
        b.output(b.op("MatMul", shifted, b.initializer(b.randomFloats("W", 4, 3))), DataType.FLOAT, "n", 3);
        Model m = b.build();
        PassTesting.run(pass(batches(m, 2)), m);
        Node q = quantizeOf(m, shifted.name());
        float scale = constant(q.input(1))[0];
        int zero = (int) (GraphEdits.constant(q.input(2)).toLongArray()[0] & 0xFF);
        assertEquals(0, zero, "a range [0, max] puts 0 at the bottom");
        QuantMath.Affine a = new QuantMath.Affine(scale, zero);
        assertEquals(0f, a.dequantize(a.quantize(0.0, 0, 255)), 0f);
    }

    @Test
    void onePairPerActivationAndOneDequantizePerWeight() {
        GraphBuilder b = new GraphBuilder(17, 3);
        Value x = b.input("x", DataType.FLOAT, "n", 4);
        Value z = b.input("z", DataType.FLOAT, "n", 4);
        Value w1 = b.initializer(b.randomFloats("W1", 4, 4));
        Value w2 = b.initializer(b.randomFloats("W2", 4, 4));
        b.output(b.op("MatMul", x, w1), DataType.FLOAT, "n", 4);
        b.output(b.op("MatMul", x, w2), DataType.FLOAT, "n", 4);
        b.output(b.op("MatMul", z, w1), DataType.FLOAT, "n", 4);
        Model m = b.build();
        Model before = m.copy();
        PassResult r = PassTesting.run(pass(batches(m, 2)), m);
        assertEquals(3, r.counts().get("MatMul"));
        assertEquals(2, opCounts(m).get("QuantizeLinear"), "x and z");
        assertEquals(4, opCounts(m).get("DequantizeLinear"), "x, z, W1, W2");
        quantizeOf(m, "x");
        PassTesting.assertSameOutputs(before, m, batches(m, 1).get(0), 0.05, 0.05);
    }

    // ---- Gemm ----

    /** A[n, 6] (or [6, n] with transA) and B[4, 6] (or [6, 4]) with C[4] or [1, 4]. */
    private static Model gemm(long transA, long transB, boolean rowBias) {
        GraphBuilder b = new GraphBuilder(17, 11);
        Value a = transA == 1 ? b.input("a", DataType.FLOAT, 6, "n") : b.input("a", DataType.FLOAT, "n", 6);
        Value w = b.initializer(transB == 1 ? b.randomFloats("B", 4, 6) : b.randomFloats("B", 6, 4));
        Value c = b.initializer(rowBias ? b.randomFloats("C", 1, 4) : b.randomFloats("C", 4));
        b.output(b.node("Gemm", a, w, c).attr("transA", transA).attr("transB", transB).attr("alpha", 1f)
                .attr("beta", 1f).value(), DataType.FLOAT, "n", 4).setName("y");
        return b.build();
    }

    @Test
    void gemmWeightsPerOutputColumnAndInt32Bias() {
        for (long[] t : new long[][] {{0, 1}, {0, 0}, {1, 0}, {1, 1}}) {
            long transA = t[0];
            long transB = t[1];
            Model m = gemm(transA, transB, transB == 0);
            Model before = m.copy();
            float[] w = constant(m.graph().initializer("B"));
            float[] bias = constant(m.graph().initializer("C"));
            List<Map<String, Tensor>> data = batches(m, 2);
            PassResult r = PassTesting.run(pass(data), m);
            assertEquals(1, r.counts().get("Gemm"));
            Node gemm = producerOf(m, "y");
            Node weightDq = gemm.input(1).producer();
            assertEquals(transB == 1 ? 0 : 1, weightDq.intAttr("axis", 1), "the axis of N");
            float[] scales = constant(weightDq.input(1));
            Node biasDq = gemm.input(2).producer();
            Tensor qb = GraphEdits.constant(biasDq.input(0));
            assertEquals(DataType.INT32, qb.dataType());
            assertArrayEquals(new long[] {4}, qb.dims());
            float sx = expectedAffine(data, "a").scale();
            float[] biasScales = constant(biasDq.input(1));
            for (int c = 0; c < 4; c++) {
                assertEquals(sx * scales[c], biasScales[c], 0f, "bias scale = input scale · weight scale");
                assertEquals(Math.rint(bias[c] / (double) biasScales[c]), qb.toLongArray()[c], 0);
            }
            for (RunOptions options : runtimes()) {
                Map<String, Tensor> feeds = data.get(0);
                float[] a = feeds.get("a").toFloatArray();
                int n = a.length / 6;
                float[] want = run(before, feeds, options).get("y").toFloatArray();
                float[] got = run(m, feeds, options).get("y").toFloatArray();
                double[] bound = new double[want.length];
                for (int i = 0; i < want.length; i++) {
                    int row = i / 4;
                    int c = i % 4;
                    double sumA = 0;
                    double sumW = 0;
                    for (int k = 0; k < 6; k++) {
                        sumA += Math.abs(transA == 1 ? a[k * n + row] : a[row * 6 + k]);
                        sumW += Math.abs(transB == 1 ? w[c * 6 + k] : w[k * 4 + c]);
                    }
                    bound[i] = productBound(sumA, sumW, 6, sx, scales[c]) + biasScales[c] / 2;
                }
                assertWithin(want, got, bound, "Gemm transA " + transA + " transB " + transB);
            }
            Map<String, Integer> ort = ortOps(m);
            assertEquals(1, ort.get("QGemm"), () -> "transA " + transA + ": ONNX Runtime runs " + ort);
        }
    }

    @Test
    void gemmWithAlphaOrScaledBiasStaysFloat() throws Exception {
        for (String attr : List.of("alpha", "beta")) {
            GraphBuilder b = new GraphBuilder(17, 11);
            Value a = b.input("a", DataType.FLOAT, "n", 6);
            b.output(b.node("Gemm", a, b.initializer(b.randomFloats("B", 6, 4)), b.initializer(b.randomFloats("C", 4)))
                    .attr(attr, 0.5f).value(), DataType.FLOAT, "n", 4);
            Model m = b.build();
            PassTesting.assertUnchanged(pass(batches(m, 1)), m);
        }
    }

    // ---- Conv ----

    /** x[n, 2, 6, 6] → Conv(W[3, 2, 3, 3], b[3], pads 1) → Relu → Mul(k) → y. */
    private static Model convRelu() {
        GraphBuilder b = new GraphBuilder(17, 21);
        Value x = b.input("x", DataType.FLOAT, "n", 2, 6, 6);
        Value w = b.initializer(b.randomFloats("W", 3, 2, 3, 3));
        Value bias = b.initializer(b.randomFloats("b", 3));
        Value conv = b.node("Conv", x, w, bias).ints("pads", 1, 1, 1, 1).ints("kernel_shape", 3, 3).value();
        conv.setName("conv");
        Value relu = b.op("Relu", conv);
        relu.setName("relu");
        b.output(b.op("Mul", relu, b.initializer(Tensor.ofFloats("k", new long[0], -2f))), DataType.FLOAT, "n", 3, 6, 6)
                .setName("y");
        return b.build();
    }

    @Test
    void convPerOutputChannelWithInt32BiasAndItsOutputPairAfterTheRelu() {
        Model m = convRelu();
        Model before = m.copy();
        float[] w = constant(m.graph().initializer("W"));
        float[] bias = constant(m.graph().initializer("b"));
        List<Map<String, Tensor>> data = batches(m, 2);
        PassResult r = PassTesting.run(pass(data), m);
        assertEquals(1, r.counts().get("Conv"));
        assertEquals(Map.of("Conv", 1, "DequantizeLinear", 4, "Mul", 1, "QuantizeLinear", 2, "Relu", 1), opCounts(m));

        Node conv = producerOf(m, "conv");
        Node weightDq = conv.input(1).producer();
        assertEquals(0, weightDq.intAttr("axis", 1));
        float[] scales = constant(weightDq.input(1));
        for (int c = 0; c < 3; c++) {
            double maxAbs = 0;
            for (int i = 0; i < 18; i++) {
                maxAbs = Math.max(maxAbs, Math.abs(w[c * 18 + i]));
            }
            assertEquals((float) (maxAbs / QuantMath.INT8_REDUCED_MAX), scales[c], 0f);
        }
        Node biasDq = conv.input(2).producer();
        float sx = expectedAffine(data, "x").scale();
        float[] biasScales = constant(biasDq.input(1));
        assertEquals(0, biasDq.intAttr("axis", 0));
        for (int c = 0; c < 3; c++) {
            assertEquals(sx * scales[c], biasScales[c], 0f);
            assertEquals(Math.rint(bias[c] / (double) biasScales[c]), GraphEdits.constant(biasDq.input(0))
                    .toLongArray()[c], 0);
        }
        Value convOut = m.graph().valuesByName().get("conv");
        assertEquals(1, convOut.uses().size());
        assertTrue(convOut.uses().get(0).node().is("Relu"), "the Relu reads the Conv directly");
        Node outQ = quantizeOf(m, "relu");
        assertEquals(0, GraphEdits.constant(outQ.input(2)).toLongArray()[0], "a Relu's range starts at 0");
        Value relu = m.graph().valuesByName().get("relu");
        assertEquals(1, relu.uses().size(), "every reader of the Relu goes through the pair");
        float sy = constant(outQ.input(1))[0];

        for (RunOptions options : runtimes()) {
            Map<String, Tensor> feeds = data.get(1);
            float[] x = feeds.get("x").toFloatArray();
            float[] want = run(before, feeds, options).get("y").toFloatArray();
            float[] got = run(m, feeds, options).get("y").toFloatArray();
            double[] bound = new double[want.length];
            int n = x.length / 72;
            for (int i = 0; i < want.length; i++) {
                int img = i / 108;
                int c = (i / 36) % 3;
                int oy = (i / 6) % 6;
                int ox = i % 6;
                double sumX = 0;
                double sumW = 0;
                int taps = 0;
                for (int ci = 0; ci < 2; ci++) {
                    for (int ky = 0; ky < 3; ky++) {
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - 1;
                            int ix = ox + kx - 1;
                            if (iy >= 0 && iy < 6 && ix >= 0 && ix < 6) {
                                sumX += Math.abs(x[((img * 2 + ci) * 6 + iy) * 6 + ix]);
                                sumW += Math.abs(w[((c * 2 + ci) * 3 + ky) * 3 + kx]);
                                taps++;
                            }
                        }
                    }
                }
                // Relu does not grow an error; the output pair adds half a step; Mul scales by |k| = 2
                bound[i] = 2 * (productBound(sumX, sumW, taps, sx, scales[c]) + biasScales[c] / 2 + sy / 2);
            }
            assertTrue(n == 4);
            assertWithin(want, got, bound, "Conv+Relu with " + options.optimizationLevel());
        }
        Map<String, Integer> ort = ortOps(m);
        assertEquals(1, ort.get("QLinearConv"), () -> "ONNX Runtime runs " + ort);
        assertFalse(ort.containsKey("Conv") || ort.containsKey("Relu"), () -> "ONNX Runtime runs " + ort);
    }

    @Test
    void convOutputReadByOthersGoesThroughOnePairAndFeedsTheNextConv() {
        GraphBuilder b = new GraphBuilder(17, 23);
        Value x = b.input("x", DataType.FLOAT, "n", 2, 5, 5);
        Value c1 = b.node("Conv", x, b.initializer(b.randomFloats("W1", 2, 2, 1, 1))).value();
        c1.setName("c1");
        Value c2 = b.node("Conv", c1, b.initializer(b.randomFloats("W2", 2, 2, 1, 1))).value();
        b.output(b.op("Add", c1, c2), DataType.FLOAT, "n", 2, 5, 5);
        Model m = b.build();
        Model before = m.copy();
        PassResult r = PassTesting.run(pass(batches(m, 2)), m);
        assertEquals(2, r.counts().get("Conv"));
        Node q = quantizeOf(m, "c1");
        Value c1After = m.graph().valuesByName().get("c1");
        assertEquals(1, c1After.uses().size(), "only the QuantizeLinear reads the first Conv");
        Value dq = q.output(0).uses().get(0).node().output(0);
        assertEquals(2, dq.uses().size(), "the second Conv and the Add read the one pair");
        assertEquals(3, opCounts(m).get("QuantizeLinear"), "x, c1, c2");
        assertEquals(2, ortOps(m).get("QLinearConv"));
        PassTesting.assertSameOutputs(before, m, batches(m, 1).get(0), 0.1, 0.1);
    }

    @Test
    void convWritingAGraphOutputGetsNoOutputPair() {
        GraphBuilder b = new GraphBuilder(17, 23);
        Value x = b.input("x", DataType.FLOAT, "n", 2, 5, 5);
        b.output(b.node("Conv", x, b.initializer(b.randomFloats("W", 3, 2, 1, 1))).value(), DataType.FLOAT,
                "n", 3, 5, 5).setName("y");
        Model m = b.build();
        Model before = m.copy();
        PassTesting.run(pass(batches(m, 1)), m);
        assertEquals(1, opCounts(m).get("QuantizeLinear"), "x only");
        assertTrue(producerOf(m, "y").is("Conv"));
        PassTesting.assertSameOutputs(before, m, batches(m, 1).get(0), 0.1, 0.1);
    }

    // ---- attention MatMuls ----

    private static Model activationMatMul() {
        GraphBuilder b = new GraphBuilder(17, 2);
        Value q = b.input("q", DataType.FLOAT, "n", 4, 3);
        Value k = b.input("k", DataType.FLOAT, "n", 3, 5);
        b.output(b.op("MatMul", q, k), DataType.FLOAT, "n", 4, 5).setName("y");
        return b.build();
    }

    @Test
    void matMulsOfTwoActivationsStayFloatUnlessAsked() {
        Model m = activationMatMul();
        List<Map<String, Tensor>> data = batches(m, 2);
        PassTesting.assertUnchanged(pass(data), m);

        Model before = m.copy();
        QuantizeStaticPass asked = new QuantizeStaticPass(QuantizeStaticPass.Options.defaults(CalibrationData.of(data))
                .withAttentionMatMuls(true));
        PassResult r = PassTesting.run(asked, m);
        assertEquals(1, r.counts().get("MatMul of activations"));
        float sq = constant(quantizeOf(m, "q").input(1))[0];
        float sk = constant(quantizeOf(m, "k").input(1))[0];
        assertEquals(expectedAffine(data, "q").scale(), sq, 0f);
        assertEquals(expectedAffine(data, "k").scale(), sk, 0f);
        for (RunOptions options : runtimes()) {
            Map<String, Tensor> feeds = data.get(0);
            float[] q = feeds.get("q").toFloatArray();
            float[] k = feeds.get("k").toFloatArray();
            float[] want = run(before, feeds, options).get("y").toFloatArray();
            float[] got = run(m, feeds, options).get("y").toFloatArray();
            double[] bound = new double[want.length];
            for (int i = 0; i < want.length; i++) {
                int batch = i / 20;
                int row = (i / 5) % 4;
                int col = i % 5;
                double sumQ = 0;
                double sumK = 0;
                for (int j = 0; j < 3; j++) {
                    sumQ += Math.abs(q[batch * 12 + row * 3 + j]);
                    sumK += Math.abs(k[batch * 15 + j * 5 + col]);
                }
                bound[i] = productBound(sumQ, sumK, 3, sq, sk);
            }
            assertWithin(want, got, bound, "q·k with " + options.optimizationLevel());
        }
    }

    // ---- choosing nodes ----

    /** x → MatMul "first" → Relu → MatMul "second" → y. */
    private static Model twoMatMuls() {
        GraphBuilder b = new GraphBuilder(17, 4);
        Value x = b.input("x", DataType.FLOAT, "n", 4);
        Value h = b.node("MatMul", x, b.initializer(b.randomFloats("W1", 4, 4))).name("first").value();
        Value r = b.op("Relu", h);
        b.output(b.node("MatMul", r, b.initializer(b.randomFloats("W2", 4, 3))).name("second").value(),
                DataType.FLOAT, "n", 3);
        return b.build();
    }

    @Test
    void excludedNodesStayFloat() {
        Model m = twoMatMuls();
        List<Map<String, Tensor>> data = batches(m, 1);
        QuantizeStaticPass.Options o = QuantizeStaticPass.Options.defaults(CalibrationData.of(data))
                .withExcluded(Set.of("second"));
        PassResult r = PassTesting.run(new QuantizeStaticPass(o), m);
        assertEquals(1, r.counts().get("MatMul"));
        Node second = m.graph().nodes().stream().filter(n -> n.name().equals("second")).findFirst().orElseThrow();
        assertTrue(second.input(1).isInitializer() && second.input(1).name().equals("W2"), "W2 stays float");
        assertTrue(second.input(0).producer().is("Relu"), "no pair in front of the excluded node");
        assertEquals(1, opCounts(m).get("QuantizeLinear"));

        Model byType = twoMatMuls();
        PassTesting.assertUnchanged(new QuantizeStaticPass(o.withExcluded(Set.of("MatMul"))), byType);
        Model otherOps = twoMatMuls();
        PassTesting.assertUnchanged(new QuantizeStaticPass(new QuantizeStaticPass.Options(CalibrationData.of(data), 0,
                CalibrationMethod.MINMAX, 99.999, true, true, Set.of("Conv", "Gemm"), Set.of())), otherOps);
    }

    @Test
    void quantizableNodesNamesUnnamedNodesTheSameWayEachTime() {
        Model m = twoMatMuls();
        for (Node n : m.graph().nodes()) {
            n.setName("");
        }
        Model copy = m.copy();
        QuantizeStaticPass.Options o = QuantizeStaticPass.Options.defaults();
        List<String> names = QuantizeStaticPass.quantizableNodes(m, o).stream().map(Node::name).toList();
        assertEquals(List.of("MatMul_1", "MatMul_2"), names, "never the bare op type, which would exclude them all");
        assertEquals(names, QuantizeStaticPass.quantizableNodes(copy, o).stream().map(Node::name).toList());
        assertEquals(names, QuantizeStaticPass.quantizableNodes(m, o).stream().map(Node::name).toList(),
                "asking again keeps the names");
        assertEquals(List.of(names.get(1)), QuantizeStaticPass.quantizableNodes(copy,
                o.withExcluded(Set.of(names.get(0)))).stream().map(Node::name).toList());
        assertEquals("", m.graph().nodes().stream().filter(n -> n.is("Relu")).findFirst().orElseThrow().name(),
                "only candidates are named");
    }

    @Test
    void whatIsNotAQuantizableSiteStaysAsItIs() throws Exception {
        List<Model> models = new ArrayList<>();
        // the weight is a graph input: two activations (not quantized by default)
        GraphBuilder b1 = new GraphBuilder(17);
        b1.output(b1.op("MatMul", b1.input("x", DataType.FLOAT, "n", 4), b1.input("w", DataType.FLOAT, 4, 3)),
                DataType.FLOAT, "n", 3);
        models.add(b1.build());
        // an initializer that is also a graph input is only a default: not a constant
        GraphBuilder b2 = new GraphBuilder(17, 3);
        Value w2 = b2.initializer(b2.randomFloats("w", 4, 3));
        b2.graph().addInput(w2);
        b2.output(b2.op("MatMul", b2.input("x", DataType.FLOAT, "n", 4), w2), DataType.FLOAT, "n", 3);
        models.add(b2.build());
        // integer MatMul
        GraphBuilder b3 = new GraphBuilder(17);
        b3.output(b3.op("MatMul", b3.input("x", DataType.INT32, "n", 2),
                b3.initializer(Tensor.ofIntegers("w", DataType.INT32, new long[] {2, 2}, 1, 2, 3, 4))),
                DataType.INT32, "n", 2);
        models.add(b3.build());
        // constant first operand: W·x
        GraphBuilder b4 = new GraphBuilder(17, 3);
        b4.output(b4.op("MatMul", b4.initializer(b4.randomFloats("w", 3, 4)), b4.input("x", DataType.FLOAT, 4, "n")),
                DataType.FLOAT, 3, "n");
        models.add(b4.build());
        // Conv weight that is not constant
        GraphBuilder b5 = new GraphBuilder(17);
        b5.output(b5.op("Conv", b5.input("x", DataType.FLOAT, "n", 2, 4, 4), b5.input("w", DataType.FLOAT, 3, 2, 1, 1)),
                DataType.FLOAT, "n", 3, 4, 4);
        models.add(b5.build());
        for (Model m : models) {
            PassTesting.assertUnchanged(pass(batches(m, 1)), m);
        }
    }

    // ---- refusal, options, progress ----

    @Test
    void aQuantizedModelIsRefusedAndLeftAlone() {
        Model m = matMul();
        QuantizeStaticPass p = pass(batches(m, 1));
        PassTesting.run(p, m);
        byte[] quantized = OnnxWriter.toBytes(m);
        PassRefusedException e = assertThrows(PassRefusedException.class, () -> p.requires(m));
        assertTrue(e.getMessage().contains("model is already quantized (has DequantizeLinear, QuantizeLinear nodes)"),
                e.getMessage());
        assertArrayEquals(quantized, OnnxWriter.toBytes(m));
    }

    @Test
    void oldOpsetsAndMissingDataAreRefused() {
        GraphBuilder b = new GraphBuilder(12, 5);
        b.output(b.op("MatMul", b.input("x", DataType.FLOAT, "n", 8), b.initializer(b.randomFloats("W", 8, 5))),
                DataType.FLOAT, "n", 5);
        Model old = b.build();
        PassRefusedException opset = assertThrows(PassRefusedException.class, () -> pass(batches(old, 1)).requires(old));
        assertTrue(opset.getMessage().contains("opset 13"), opset.getMessage());
        PassRefusedException noData = assertThrows(PassRefusedException.class,
                () -> new QuantizeStaticPass().requires(matMul()));
        assertTrue(noData.getMessage().contains("calibration data is required"), noData.getMessage());
    }

    @Test
    void calibrationReadsAtMostCalibBatchesAndReportsEachOne() {
        Model m = matMul();
        List<Map<String, Tensor>> data = batches(m, 3);
        QuantizeStaticPass.Options o = new QuantizeStaticPass.Options(CalibrationData.of(data), 2,
                CalibrationMethod.MINMAX, 99.999, true, true, QuantizeStaticPass.SUPPORTED_OP_TYPES, Set.of());
        List<String> updates = new ArrayList<>();
        new QuantizeStaticPass(o).run(m, PassContext.defaults().withProgress(
                (id, done, total) -> updates.add(id + " " + done + "/" + total)));
        assertEquals(List.of("quantize-static 1/2", "quantize-static 2/2"), updates);
        assertEquals(expectedAffine(data.subList(0, 2), "x").scale(), constant(quantizeOf(m, "x").input(1))[0], 0f);
    }

    @Test
    void descriptorParsesTextOptionsAndNeedsData() {
        PassDescriptor d = QuantizeStaticPass.DESCRIPTOR;
        assertEquals("quantize-static", d.id());
        assertFalse(d.lossless());
        IllegalArgumentException noData = assertThrows(IllegalArgumentException.class, () -> d.create(Map.of()));
        assertTrue(noData.getMessage().contains("calibration data"), noData.getMessage());
        assertThrows(IllegalArgumentException.class, () -> d.create(Map.of("method", "kl")), "bad values first");

        CalibrationData data = CalibrationData.of(List.of());
        Map<String, String> text = new HashMap<>();
        text.put("method", "percentile");
        text.put("percentile", "99.9");
        text.put("per-channel", "false");
        text.put("activation-type", "int8");
        text.put("ops", "MatMul, Conv");
        text.put("exclude", "head,Gemm");
        text.put("calib-batches", "8");
        text.put("reduce-range", "false");
        text.put("attention-matmuls", "true");
        QuantizeStaticPass.Options o = ((QuantizeStaticPass) QuantizeStaticPass.descriptor(data).create(text)).options();
        assertEquals(new QuantizeStaticPass.Options(data, 8, CalibrationMethod.PERCENTILE, 99.9, false, false,
                Set.of("MatMul", "Conv"), Set.of("head", "Gemm"), false, true), o);
        QuantizeStaticPass.Options defaults = ((QuantizeStaticPass) QuantizeStaticPass.descriptor(data).create(Map.of()))
                .options();
        assertEquals(QuantizeStaticPass.Options.defaults(data), defaults);

        IllegalArgumentException type = assertThrows(IllegalArgumentException.class,
                () -> QuantizeStaticPass.descriptor(data).create(Map.of("activation-type", "fp8")));
        assertTrue(type.getMessage().contains("uint8 or int8"), type.getMessage());
        IllegalArgumentException ops = assertThrows(IllegalArgumentException.class,
                () -> QuantizeStaticPass.descriptor(data).create(Map.of("ops", "MatMul,Add")));
        assertTrue(ops.getMessage().contains("'Add'") && ops.getMessage().contains("MatMul, Gemm, Conv"),
                ops.getMessage());
    }

    @Test
    void optionsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new QuantizeStaticPass.Options(null, -1,
                CalibrationMethod.MINMAX, 99.9, true, true, Set.of("MatMul"), Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new QuantizeStaticPass.Options(null, 0,
                CalibrationMethod.MINMAX, 0, true, true, Set.of("MatMul"), Set.of()));
        assertThrows(IllegalArgumentException.class, () -> new QuantizeStaticPass.Options(null, 0,
                CalibrationMethod.MINMAX, 99.9, true, true, Set.of(), Set.of()));
        QuantizeStaticPass.Options d = QuantizeStaticPass.Options.defaults();
        assertTrue(d.perChannel() && d.activationsUint8() && d.reduceRange() && !d.attentionMatMuls());
        assertEquals(CalibrationMethod.MINMAX, d.method());
        assertEquals(QuantizeStaticPass.SUPPORTED_OP_TYPES, d.opTypes());
    }

    // ---- reference models ----

    private static final int CALIBRATION_IMAGES = 512;
    private static final int CALIBRATION_BATCH = 64;
    private static final int TEST_IMAGES = 2000;
    private static final Map<String, Quantized> REFERENCE = new HashMap<>();

    /** A reference model before and after: the float file and its quantized form. */
    private record Quantized(Model original, Model quantized, PassResult result, LabelledImages test,
                             ImagePreprocessing prep) {
    }

    /**
     * The lossless pipeline (what {@code slimnx optimize} runs), then this pass with its defaults,
     * calibrated on the first 512 images of the calibration set, read 64 at a time.
     */
    private static synchronized Quantized quantizedReference(String name) throws Exception {
        Quantized known = REFERENCE.get(name);
        if (known != null) {
            return known;
        }
        ReferenceModels registry = ReferenceModels.locate();
        ReferenceModel ref = registry.get(name);
        ReferenceModel.Preprocessing p = ref.inputs().get(0).preprocessing();
        ImagePreprocessing prep = new ImagePreprocessing(p.scale(), p.mean(), p.std());
        LabelledImages calib = LabelledImages.read(registry.dataFile("calib_images"), registry.dataFile("calib_labels"));
        LabelledImages test = LabelledImages.read(registry.dataFile("test_images"), registry.dataFile("test_labels"));
        Model original = OnnxReader.read(ref.file());
        Model m = original.copy();
        PassRegistry passes = PassRegistry.standard();
        new PassManager(passes.pipeline(passes.losslessIds(), Map.of()), PassManager.Options.untilFixedPoint())
                .run(m, PassContext.defaults());
        String input = m.graph().inputs().get(0).name();
        float[][] pixels = calib.preprocessed(prep);
        CalibrationData data = () -> new java.util.Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < CALIBRATION_IMAGES;
            }

            @Override
            public Map<String, Tensor> next() {
                Tensor t = images(input, pixels, next, CALIBRATION_BATCH);
                next += CALIBRATION_BATCH;
                return Map.of(input, t);
            }
        };
        PassResult result = PassTesting.run(new QuantizeStaticPass(QuantizeStaticPass.Options.defaults(data)), m);
        Quantized q = new Quantized(original, m, result, test, prep);
        REFERENCE.put(name, q);
        return q;
    }

    private static Tensor images(String name, float[][] pixels, int from, int count) {
        int hw = pixels[0].length;
        float[] batch = new float[count * hw];
        for (int i = 0; i < count; i++) {
            System.arraycopy(pixels[from + i], 0, batch, i * hw, hw);
        }
        int side = (int) Math.sqrt(hw);
        return Tensor.ofFloats(name, new long[] {count, 1, side, side}, batch);
    }

    /** @return top-1 on the first 2000 test images, run as a deployment would (all optimizations) */
    private static double top1(Model m, LabelledImages test, ImagePreprocessing prep) {
        float[][] pixels = test.preprocessed(prep);
        String input = m.graph().inputs().get(0).name();
        int right = 0;
        try (ModelRunner r = ModelRunner.open(m, RunOptions.defaults().withIntraOpThreads(2))) {
            for (int start = 0; start < TEST_IMAGES; start += 250) {
                float[] logits = r.run(Map.of(input, images(input, pixels, start, 250))).values().iterator().next()
                        .toFloatArray();
                int classes = logits.length / 250;
                for (int i = 0; i < 250; i++) {
                    int best = 0;
                    for (int c = 1; c < classes; c++) {
                        if (logits[i * classes + c] > logits[i * classes + best]) {
                            best = c;
                        }
                    }
                    right += best == test.labels()[start + i] ? 1 : 0;
                }
            }
        }
        return right / (double) TEST_IMAGES;
    }

    /** The quantized model as {@code slimnx quantize} writes it (compacted) against the float file. */
    private static double sizeRatio(Quantized q) {
        Model written = q.quantized().copy();
        PassTesting.run(new CompactPass(), written);
        return OnnxWriter.toBytes(written).length / (double) OnnxWriter.toBytes(q.original()).length;
    }

    @ParameterizedTest
    @ValueSource(strings = {"vit", "efficientvit"})
    void referenceModelLosesAtMostHalfAPointOfTop1AndRunsIntegerKernels(String name) throws Exception {
        Quantized q = quantizedReference(name);
        double before = top1(q.original(), q.test(), q.prep());
        double after = top1(q.quantized(), q.test(), q.prep());
        assertTrue(before - after <= 0.005, () -> String.format("%s: top-1 %.4f -> %.4f (%s)", name, before, after,
                q.result().summary()));
        int sites = q.result().counts().entrySet().stream().filter(e -> !e.getKey().startsWith("weight bytes"))
                .mapToInt(Map.Entry::getValue).sum();
        Map<String, Integer> ort = ortOpsOf(q.quantized());
        int integerKernels = ort.getOrDefault("MatMulIntegerToFloat", 0) + ort.getOrDefault("QLinearMatMul", 0)
                + ort.getOrDefault("QLinearConv", 0) + ort.getOrDefault("QGemm", 0);
        assertEquals(sites, integerKernels, () -> name + ": ONNX Runtime runs " + ort + " for " + q.result().summary());
    }

    @Test
    void vitQuantizesEveryMatMulTheConvAndTheGemm() throws Exception {
        Quantized q = quantizedReference("vit");
        assertEquals(Map.of("MatMul", 24, "Conv", 1, "Gemm", 1), Map.of("MatMul", q.result().counts().get("MatMul"),
                "Conv", q.result().counts().get("Conv"), "Gemm", q.result().counts().get("Gemm")));
    }

    /**
     * NOTE: EfficientViT is the tightest: its 52 Convs hold only 131 840 weights over 2 602 output
     * channels (19 depthwise ones with 9 weights per channel), and QLinearConv needs per channel a
     * weight scale and zero point, an int32 bias and the bias's own scale (13 bytes against 4 for the
     * float bias): the quantized constants alone are 0.256 of the float file. Written as exported it
     * is 0.368; compacted (short value names, shorter node names, no default Conv attributes, shared
     * weight zero points) 0.297.
     */
    @ParameterizedTest
    @ValueSource(strings = {"vit", "efficientvit"})
    void referenceModelAsWrittenIsAtMostThreeTenthsOfTheFloatFile(String name) throws Exception {
        Quantized q = quantizedReference(name);
        assertTrue(sizeRatio(q) <= 0.3, () -> String.format("%s: %.4f of the float size", name, sizeRatio(q)));
    }

    private static Map<String, Integer> ortOpsOf(Model m) throws Exception {
        Path file = java.nio.file.Files.createTempFile("slimnx-qs-", ".onnx");
        try {
            ModelRunner.writeOptimized(m, RunOptions.defaults(), file);
            return opCounts(OnnxReader.read(file));
        } finally {
            java.nio.file.Files.deleteIfExists(file);
        }
    }
}
