package dev.slimnx.passes.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class QuantizeInt4PassTest {
    private static final long SEED = 20240613L;
    private static final String NBITS = "com.microsoft:MatMulNBits";

    private static QuantizeInt4Pass pass(int blockSize, boolean symmetric) {
        return new QuantizeInt4Pass(new QuantizeInt4Pass.Options(blockSize, symmetric, Set.of()));
    }

    /**
     * The weight a MatMulNBits node stands for, read back from its inputs the way the operator's
     * specification describes them (written out here, independently of the pass).
     *
     * @return {@code W'[K, N]} row-major, and the codes and zero points for the checks
     */
    private record Dequantized(float[] w, int[][] codes, int[][] zeros, float[][] scales) {
    }

    private static Dequantized dequantize(Node nbits) {
        int k = (int) nbits.intAttr("K", -1);
        int n = (int) nbits.intAttr("N", -1);
        int block = (int) nbits.intAttr("block_size", -1);
        assertEquals(4, nbits.intAttr("bits", -1));
        int blocks = (k + block - 1) / block;
        Tensor b = QuantTesting.input(nbits, 1);
        Tensor s = QuantTesting.input(nbits, 2);
        Tensor z = nbits.inputs().size() > 3 && nbits.input(3) != null ? QuantTesting.input(nbits, 3) : null;
        assertEquals(DataType.UINT8, b.dataType());
        assertArrayEquals(new long[] {n, blocks, block / 2}, b.dims());
        assertArrayEquals(new long[] {n, blocks}, s.dims());
        byte[] packed = bytes(b);
        float[] scales = s.toFloatArray();
        byte[] zp = z == null ? null : bytes(z);
        if (z != null) {
            assertArrayEquals(new long[] {n, (blocks + 1) / 2}, z.dims());
        }
        float[] w = new float[k * n];
        int[][] codes = new int[n][blocks * block];
        int[][] zeros = new int[n][blocks];
        float[][] sc = new float[n][blocks];
        for (int col = 0; col < n; col++) {
            for (int blk = 0; blk < blocks; blk++) {
                int zero = zp == null ? 8 : (zp[col * ((blocks + 1) / 2) + blk / 2] >> (4 * (blk % 2))) & 0xF;
                zeros[col][blk] = zero;
                sc[col][blk] = scales[col * blocks + blk];
                for (int j = 0; j < block; j++) {
                    int code = (packed[(col * blocks + blk) * (block / 2) + j / 2] >> (4 * (j % 2))) & 0xF;
                    codes[col][blk * block + j] = code;
                    int row = blk * block + j;
                    if (row < k) {
                        w[row * n + col] = (code - zero) * scales[col * blocks + blk];
                    }
                }
            }
        }
        return new Dequantized(w, codes, zeros, sc);
    }

    private static byte[] bytes(Tensor t) {
        ByteBuffer raw = t.rawBytes();
        byte[] out = new byte[raw.remaining()];
        raw.get(out);
        return out;
    }

    /** {@code x·w (+ bias)} in double, {@code x} as {@code [rows, K]}. */
    private static double[] product(float[] x, float[] w, float[] bias, int k, int n) {
        int rows = x.length / k;
        double[] y = new double[rows * n];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < n; c++) {
                double acc = bias == null ? 0 : bias[c];
                for (int i = 0; i < k; i++) {
                    acc += (double) x[r * k + i] * w[i * n + c];
                }
                y[r * n + c] = acc;
            }
        }
        return y;
    }

    private static Model matMul(int k, int n) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, k);
        b.output(b.node("MatMul", x, b.initializer(b.randomFloats("w", k, n))).name("proj").value());
        return b.build();
    }

    /**
     * Quantizes a MatMul and checks: the node and layout, each dequantized weight within its
     * block's bound of the float one, padding at the zero point, and ONNX Runtime computing exactly
     * {@code x·W'} (so the layout is read the way it was written).
     */
    private static void assertQuantizedAndComputedFromThePackedWeight(int k, int n, int block, boolean symmetric) {
        Model model = matMul(k, n);
        float[] w = model.graph().initializer("w").initializer().toFloatArray();
        String output = model.graph().outputs().get(0).name();

        PassResult result = PassTesting.run(pass(block, symmetric), model);

        assertEquals(Map.of("MatMul", 1), result.counts());
        assertEquals(Map.of(NBITS, 1), QuantTesting.ops(model));
        assertEquals(List.of(output), QuantTesting.outputNames(model));
        assertEquals(1, model.opsetVersion("com.microsoft"));
        assertNull(model.graph().initializer("w"), "the float weight is gone");
        Node nbits = QuantTesting.node(model, "MatMulNBits");
        assertEquals(k, nbits.intAttr("K", -1));
        assertEquals(n, nbits.intAttr("N", -1));
        assertEquals(block, nbits.intAttr("block_size", -1));
        assertEquals(0, nbits.intAttr("accuracy_level", -1));
        assertEquals(symmetric, nbits.inputs().size() == 3, "zero points only when asymmetric");

        Dequantized d = dequantize(nbits);
        int blocks = (k + block - 1) / block;
        for (int col = 0; col < n; col++) {
            for (int blk = 0; blk < blocks; blk++) {
                float s = Math.abs(d.scales()[col][blk]);
                for (int j = 0; j < block; j++) {
                    int row = blk * block + j;
                    if (row >= k) {
                        assertEquals(d.zeros()[col][blk], d.codes()[col][row], "padding stands for 0");
                        continue;
                    }
                    double err = Math.abs(w[row * n + col] - d.w()[row * n + col]);
                    // symmetric blocks clamp the opposite extreme to code 15: one step at most
                    double limit = (symmetric && d.codes()[col][row] == 15 ? s : s / 2) * (1 + 1e-5);
                    assertTrue(err <= limit, "W[" + row + ", " + col + "]: error " + err + " above " + limit);
                }
            }
        }

        float[] x = QuantTesting.gaussian(SEED, 2 * 3 * k);
        float[] got = QuantTesting.run(model, Map.of("x", Tensor.ofFloats("x", new long[] {2, 3, k}, x)));
        double[] expected = product(x, d.w(), null, k, n);
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-4 * (1 + Math.abs(expected[i])), "output element " + i);
        }
    }

    // ---- layout and arithmetic ----

    @ParameterizedTest
    @CsvSource({"64, 6, 32, false", "64, 6, 32, true", "80, 5, 32, false", "80, 5, 32, true",
        "200, 7, 64, false", "200, 7, 128, true", "32, 1, 128, false"})
    void weightsArePackedAsMatMulNBitsReadsThem(int k, int n, int block, boolean symmetric) {
        assertQuantizedAndComputedFromThePackedWeight(k, n, block, symmetric);
    }

    @Test
    void asymmetricScalesAndZeroPointsAreExactAndZeroIsRepresented() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 32);
        float[] w = new float[32 * 3];
        for (int r = 0; r < 32; r++) {
            w[r * 3] = 0.1f * r - 1.0f;      // crosses 0, includes 0 exactly at r = 10
            w[r * 3 + 1] = 0.5f + 0.01f * r; // all positive: the range is widened to 0
            w[r * 3 + 2] = r % 4 == 0 ? 0f : -0.3f * r;
        }
        b.output(b.op("MatMul", x, b.initializer(Tensor.ofFloats("w", new long[] {32, 3}, w))));
        Model model = b.build();
        PassTesting.run(pass(32, false), model);
        Dequantized d = dequantize(QuantTesting.node(model, "MatMulNBits"));
        for (int col = 0; col < 3; col++) {
            double lo = 0;
            double hi = 0;
            for (int r = 0; r < 32; r++) {
                lo = Math.min(lo, w[r * 3 + col]);
                hi = Math.max(hi, w[r * 3 + col]);
            }
            float s = (float) ((hi - lo) / 15);
            assertEquals(s, d.scales()[col][0], 0f, "s = (max(w, 0) − min(w, 0)) / 15");
            assertEquals((int) Math.rint(-lo / s), d.zeros()[col][0], "z = round(−lo / s)");
            for (int r = 0; r < 32; r++) {
                if (w[r * 3 + col] == 0f) {
                    assertEquals(0f, d.w()[r * 3 + col], 0f, "0 is exact");
                }
            }
        }
    }

    @Test
    void symmetricBlocksMapTheirLargestMagnitudeExactly() {
        Model model = matMul(96, 4);
        float[] w = model.graph().initializer("w").initializer().toFloatArray();
        PassTesting.run(pass(32, true), model);
        Dequantized d = dequantize(QuantTesting.node(model, "MatMulNBits"));
        for (int col = 0; col < 4; col++) {
            for (int blk = 0; blk < 3; blk++) {
                float m = 0;
                int at = -1;
                for (int j = 0; j < 32; j++) {
                    float v = w[(blk * 32 + j) * 4 + col];
                    if (Math.abs(v) > Math.abs(m)) {
                        m = v;
                        at = blk * 32 + j;
                    }
                }
                assertEquals(m / -8f, d.scales()[col][blk], 0f, "s = m / −8");
                assertEquals(0, d.codes()[col][at], "m gets code 0");
                assertEquals(m, d.w()[at * 4 + col], Math.abs(m) * 1e-6);
            }
        }
    }

    @Test
    void biasAddAfterTheMatMulBecomesTheBiasInput() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 64);
        Value y = b.op("MatMul", x, b.initializer(b.randomFloats("w", 64, 12)));
        Tensor bias = b.randomFloats("bias", 1, 1, 12);
        b.output(b.op("Add", y, b.initializer(bias)));
        Model model = b.build();
        String output = model.graph().outputs().get(0).name();

        assertEquals(Map.of("MatMul", 1), PassTesting.run(new QuantizeInt4Pass(), model).counts());
        assertEquals(Map.of(NBITS, 1), QuantTesting.ops(model));
        assertEquals(List.of(output), QuantTesting.outputNames(model));
        Node nbits = QuantTesting.node(model, "MatMulNBits");
        assertNull(nbits.input(4), "no g_idx");
        assertArrayEquals(bias.toFloatArray(), QuantTesting.input(nbits, 5).toFloatArray(), 0f);

        float[] xv = QuantTesting.gaussian(SEED, 2 * 4 * 64);
        float[] got = QuantTesting.run(model, Map.of("x", Tensor.ofFloats("x", new long[] {2, 4, 64}, xv)));
        double[] expected = product(xv, dequantize(nbits).w(), bias.toFloatArray(), 64, 12);
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-4 * (1 + Math.abs(expected[i])));
        }
    }

    // ---- what stays float ----

    @Test
    void gemmsAttentionProductsAndNonConstantWeightsStayFloat() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 4, 32);
        Value kt = b.input("kt", DataType.FLOAT, 2, 32, 4);
        b.output(b.op("MatMul", x, kt)); // two activations
        Value w = b.input("w_in", DataType.FLOAT, 32, 8);
        b.output(b.op("MatMul", x, w)); // weight is a graph input
        Value x2 = b.input("x2", DataType.FLOAT, 3, 32);
        b.output(b.op("Gemm", x2, b.initializer(b.randomFloats("head", 32, 10))));
        Value flat = b.input("v", DataType.FLOAT, 32);
        b.output(b.op("MatMul", flat, b.initializer(b.randomFloats("w1", 32, 8)))); // rank 1
        PassTesting.assertIdempotent(new QuantizeInt4Pass(), b.build());
    }

    @ParameterizedTest
    @ValueSource(strings = {"keep_me", "MatMul"})
    void excludedNodesStayFloat(String excluded) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 32);
        Value h = b.node("MatMul", x, b.initializer(b.randomFloats("w1", 32, 32))).name("keep_me").value();
        b.output(b.node("MatMul", h, b.initializer(b.randomFloats("w2", 32, 8))).name("other").value());
        Model model = b.build();
        QuantizeInt4Pass p = new QuantizeInt4Pass(new QuantizeInt4Pass.Options(32, false, Set.of(excluded)));
        if (excluded.equals("MatMul")) {
            PassTesting.assertUnchanged(p, model);
            return;
        }
        assertEquals(Map.of("MatMul", 1), PassTesting.run(p, model).counts());
        assertEquals("keep_me", QuantTesting.node(model, "MatMul").name());
        assertEquals(Map.of("MatMul", 1, NBITS, 1), QuantTesting.ops(model));
    }

    @Test
    void matMulsInsideIfBranchesAreQuantizedToo() {
        Model model = QuantizeDynamicPassTest.ifWithProductsInBothBranches(64, 6);
        assertEquals(Map.of("MatMul", 1), PassTesting.run(new QuantizeInt4Pass(), model).counts(),
                "the then-branch MatMul; the else-branch Gemm stays");
        Node branchy = QuantTesting.node(model, "If");
        assertEquals(List.of("MatMulNBits"), branchy.subgraphs().get(0).nodes().stream().map(Node::opType).toList());
        assertEquals(List.of("Gemm"), branchy.subgraphs().get(1).nodes().stream().map(Node::opType).toList());
        Dequantized d = dequantize(branchy.subgraphs().get(0).nodes().get(0));
        float[] x = QuantTesting.gaussian(SEED, 3 * 64);
        float[] got = QuantTesting.run(model, Map.of("cond", Tensor.ofIntegers("cond", DataType.BOOL, new long[0], 1),
                "x", Tensor.ofFloats("x", new long[] {3, 64}, x)));
        double[] expected = product(x, d.w(), null, 64, 6);
        for (int i = 0; i < got.length; i++) {
            assertEquals(expected[i], got[i], 1e-4 * (1 + Math.abs(expected[i])));
        }
    }

    // ---- sharing, refusal, options ----

    @Test
    void aSharedWeightIsPackedOnceAndTheModelShrinks() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 128);
        Value w = b.initializer(b.randomFloats("w", 128, 128));
        b.output(b.op("MatMul", b.op("MatMul", x, w), w));
        Model model = b.build();
        long before = QuantTesting.bytes(model);
        assertEquals(Map.of("MatMul", 2), PassTesting.run(new QuantizeInt4Pass(), model).counts());
        assertEquals(1, model.graph().initializers().stream()
                .filter(v -> v.initializer().dataType() == DataType.UINT8 && v.initializer().rank() == 3).count());
        assertTrue(QuantTesting.bytes(model) < before / 5, "4-bit codes plus a scale and zero point per 32");
    }

    @Test
    void aWeightSharedThroughIdentityIsPackedOnceAndTheIdentityGoes() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 64);
        Value w = b.initializer(b.randomFloats("w", 64, 8));
        b.output(b.op("MatMul", x, w));
        b.output(b.op("MatMul", x, b.op("Identity", w)));
        Model model = b.build();
        assertEquals(Map.of("MatMul", 2), PassTesting.run(new QuantizeInt4Pass(), model).counts());
        assertEquals(Map.of(NBITS, 2), QuantTesting.ops(model));
        assertNull(model.graph().initializer("w"));
        List<Node> nodes = model.graph().nodes();
        assertEquals(nodes.get(0).input(1), nodes.get(1).input(1), "one packed weight");
    }

    @Test
    void anAlreadyQuantizedModelIsRefused() {
        Model model = matMul(64, 8);
        QuantizeInt4Pass p = new QuantizeInt4Pass();
        PassTesting.run(p, model);
        PassRefusedException e = assertThrows(PassRefusedException.class, () -> p.requires(model));
        assertTrue(e.getMessage().contains("already quantized") && e.getMessage().contains("MatMulNBits"),
                e.getMessage());

        Model dynamic = matMul(64, 8);
        PassTesting.run(new QuantizeDynamicPass(), dynamic);
        assertThrows(PassRefusedException.class, () -> p.requires(dynamic), "nor is an int8 model made int4");
    }

    @Test
    void optionsAreCheckedAndReadFromText() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QuantizeInt4Pass.Options(16, false, Set.of()));
        assertTrue(e.getMessage().contains("32, 64 or 128"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new QuantizeInt4Pass.Options(32, false, Set.of("")));
        QuantizeInt4Pass fromText = (QuantizeInt4Pass) QuantizeInt4Pass.DESCRIPTOR.create(
                Map.of("block-size", "128", "symmetric", "true", "exclude", "head"));
        assertEquals(new QuantizeInt4Pass.Options(128, true, Set.of("head")), fromText.options());
        assertEquals(QuantizeInt4Pass.Options.defaults(),
                ((QuantizeInt4Pass) QuantizeInt4Pass.DESCRIPTOR.create(Map.of())).options());
        assertFalse(QuantizeInt4Pass.DESCRIPTOR.lossless());
        assertThrows(IllegalArgumentException.class,
                () -> QuantizeInt4Pass.DESCRIPTOR.create(Map.of("block-size", "48")));
    }

    // ---- reference models ----

    @ParameterizedTest
    @ValueSource(strings = {"vit", "deepvit"})
    void referenceModelsLoseAtMostOneAndAHalfPointsOfTop1(String name) throws Exception {
        Model original = OnnxReader.read(Path.of("../reference-models/models/" + name + ".onnx"));
        Model quantized = original.copy();
        PassResult result = PassTesting.run(new QuantizeInt4Pass(), quantized);

        double before = QuantTesting.top1(original, QuantTesting.REFERENCE_IMAGES);
        double after = QuantTesting.top1(quantized, QuantTesting.REFERENCE_IMAGES);
        double ratio = (double) QuantTesting.bytes(quantized) / QuantTesting.bytes(original);
        System.out.printf("quantize-int4 %s: %s; top-1 on %d images %.2f%% -> %.2f%% (drop %.2f points); "
                        + "size %d -> %d bytes (%.3fx)%n", name, result.summary(), QuantTesting.REFERENCE_IMAGES,
                before, after, before - after, QuantTesting.bytes(original), QuantTesting.bytes(quantized), ratio);
        assertTrue(result.counts().getOrDefault("MatMul", 0) >= 24, "every linear layer of the six blocks");
        assertTrue(before - after <= 1.5, () -> name + " lost " + (before - after) + " points");
        assertTrue(ratio < 0.25, () -> name + " size ratio " + ratio);
    }
}
