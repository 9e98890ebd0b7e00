package dev.slimnx.passes.fusion;

import static dev.slimnx.passes.testing.PassTesting.ATOL;
import static dev.slimnx.passes.testing.PassTesting.RTOL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
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
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class FoldBatchNormPassTest {
    private static final long SEED = 20240611L;
    private static final FoldBatchNormPass PASS = new FoldBatchNormPass();

    // ---- building blocks ----

    /**
     * A BatchNormalization over axis 1 with non-trivial parameters: γ = ±[0.5, 1.5), β and μ in
     * [-1, 1), var in [0.2, 2.2).
     *
     * @param epsilon the epsilon attribute, or null to leave it at its default (1e-5)
     */
    private static Node batchNorm(GraphBuilder b, Value x, int channels, Float epsilon) {
        GraphBuilder.NodeSpec spec = b.node("BatchNormalization", batchNormInputs(b, x, channels));
        if (epsilon != null) {
            spec.attr("epsilon", epsilon);
        }
        return spec.build().get(0).producer();
    }

    /** x and the four parameters, as initializers of the builder's graph. */
    private static Value[] batchNormInputs(GraphBuilder b, Value x, int channels) {
        Random r = new Random(SEED + b.graph().nodes().size() + b.graph().initializers().size());
        float[][] p = new float[4][channels];
        for (int c = 0; c < channels; c++) {
            p[0][c] = (0.5f + r.nextFloat()) * (r.nextBoolean() ? 1 : -1);
            p[1][c] = r.nextFloat() * 2 - 1;
            p[2][c] = r.nextFloat() * 2 - 1;
            p[3][c] = 0.2f + 2 * r.nextFloat();
        }
        String[] names = {"weight", "bias", "running_mean", "running_var"};
        Value[] in = new Value[5];
        in[0] = x;
        for (int i = 0; i < 4; i++) {
            in[i + 1] = b.initializer(Tensor.ofFloats(b.graph().names().fresh("bn." + names[i]),
                    new long[] {channels}, p[i]));
        }
        return in;
    }

    private static Value bn(GraphBuilder b, Value x, int channels) {
        return batchNorm(b, x, channels, 1e-3f).output(0);
    }

    private static Value weights(GraphBuilder b, String name, long... dims) {
        return b.initializer(b.randomFloats(b.graph().names().fresh(name), dims));
    }

    private static Value unknownRankInput(GraphBuilder b, String name) {
        Value v = new Value(name, ValueType.TensorType.of(DataType.FLOAT, null));
        b.graph().addInput(v);
        return v;
    }

    private static long count(Model m, String opType) {
        return m.graph().nodes().stream().filter(n -> n.is(opType)).count();
    }

    private static List<String> outputNames(Model m) {
        return m.graph().outputs().stream().map(Value::name).toList();
    }

    private static byte[] bytes(Tensor t) {
        ByteBuffer buf = t.rawBytes();
        byte[] out = new byte[buf.remaining()];
        buf.get(out);
        return out;
    }

    /**
     * Runs the pass, checks the output names survive and the outputs stay equal through ONNX
     * Runtime, and that a second run changes nothing.
     */
    private static PassResult foldAndCompare(Model model) {
        Model before = model.copy();
        List<String> names = outputNames(model);
        PassResult result = PassTesting.run(PASS, model);
        assertTrue(result.changed());
        assertEquals(names, outputNames(model), "graph-output names survive");
        PassTesting.assertSameOutputs(before, model, RTOL, ATOL);
        PassTesting.assertUnchanged(PASS, model);
        return result;
    }

    /**
     * The site must not be folded: the BN becomes Mul + Add (the only rewrite), every other
     * constant keeps its name and bytes, and the outputs stay equal.
     */
    private static void assertFellBackToMulAdd(Model model) {
        Model before = model.copy();
        Set<String> bnParams = new HashSet<>();
        for (Node n : model.graph().nodes()) {
            if (n.is("BatchNormalization")) {
                n.inputs().subList(1, 5).forEach(v -> bnParams.add(v.name()));
            }
        }
        Map<String, byte[]> constants = new HashMap<>();
        for (Value v : model.graph().initializers()) {
            if (!bnParams.contains(v.name())) {
                constants.put(v.name(), bytes(v.initializer()));
            }
        }
        PassResult result = PassTesting.run(PASS, model);
        assertEquals(Map.of("lone BatchNormalization", 1), result.counts());
        for (Map.Entry<String, byte[]> e : constants.entrySet()) {
            Value v = model.graph().initializer(e.getKey());
            assertNotNull(v, "constant " + e.getKey() + " is still there");
            assertArrayEquals(e.getValue(), bytes(v.initializer()), "constant " + e.getKey() + " is unchanged");
        }
        assertEquals(constants.size() + 2, model.graph().initializers().size(), "only the scale and shift are new");
        assertEquals(0, count(model, "BatchNormalization"));
        PassTesting.assertSameOutputs(before, model, RTOL, ATOL);
    }

    // ---- Conv / ConvTranspose → BN ----

    @Test
    void convThenBatchNormFoldsIntoWeightsAndBias() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 6, 6);
        Value y = b.node("Conv", x, weights(b, "w", 4, 3, 3, 3), weights(b, "b", 4)).ints("pads", 1, 1, 1, 1).value();
        // default epsilon; the BN output is the graph output
        String out = b.output(batchNorm(b, y, 4, null).output(0)).name();
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("Conv+BatchNormalization", 1), result.counts());
        assertEquals(1, model.graph().nodes().size());
        assertEquals(out, model.graph().nodes().get(0).output(0).name());
        assertEquals(List.of("x"), model.graph().inputs().stream().map(Value::name).toList());
        assertEquals(2, model.graph().initializers().size(), "the old weight, bias and BN parameters are gone");
    }

    @Test
    void groupedConvWithoutBiasGetsOne() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 5, 5);
        Value y = b.node("Conv", x, weights(b, "w", 6, 2, 3, 3)).attr("group", 2).value();
        b.output(b.op("Relu", bn(b, y, 6)));
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("Conv+BatchNormalization", 1), result.counts());
        Node conv = model.graph().nodes().get(0);
        assertEquals(3, conv.inputs().size());
        assertArrayEquals(new long[] {6}, conv.input(2).initializer().dims());
    }

    @Test
    void convTransposeThenBatchNormHandlesGroups() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 4, 4);
        // weight [C_in = 4, C_out/group = 3, 3, 3] with group 2: six output channels
        Value y = b.node("ConvTranspose", x, weights(b, "w", 4, 3, 3, 3), weights(b, "b", 6))
                .attr("group", 2).ints("strides", 2, 2).value();
        b.output(bn(b, y, 6));
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("ConvTranspose+BatchNormalization", 1), result.counts());
        assertEquals(1, model.graph().nodes().size());
    }

    @Test
    void convTransposeWithoutBiasGetsOne() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 4, 4);
        Value y = b.node("ConvTranspose", x, weights(b, "w", 3, 5, 2, 2)).value();
        b.output(b.op("Relu", bn(b, y, 5)));
        Model model = b.build();

        assertEquals(Map.of("ConvTranspose+BatchNormalization", 1), foldAndCompare(model).counts());
        assertEquals(3, model.graph().nodes().get(0).inputs().size());
    }

    // ---- Gemm → BN ----

    @ParameterizedTest(name = "transB={0} alpha={1} beta={2} C={3}")
    @CsvSource({
        "0, 1.0, 1.0, none",
        "1, 0.7, 1.3, 6",
        "0, 1.5, 0.5, 1x6",
        "1, 1.0, 2.0, 2x1",
        "0, 0.9, 1.1, 2x6",
        "1, 1.2, 0.8, scalar",
    })
    void gemmThenBatchNorm(int transB, float alpha, float beta, String c) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 5);
        Value w = transB == 1 ? weights(b, "w", 6, 5) : weights(b, "w", 5, 6);
        Value bias = switch (c) {
            case "none" -> null;
            case "scalar" -> b.initializer(Tensor.ofFloats("c", new long[0], 0.3f));
            default -> weights(b, "c", Arrays.stream(c.split("x")).mapToLong(Long::parseLong).toArray());
        };
        GraphBuilder.NodeSpec spec = bias == null ? b.node("Gemm", x, w) : b.node("Gemm", x, w, bias);
        Value y = spec.attr("transB", transB).attr("alpha", alpha).attr("beta", beta).value();
        b.output(bn(b, y, 6));
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("Gemm+BatchNormalization", 1), result.counts());
        Node gemm = model.graph().nodes().get(0);
        assertEquals(1, model.graph().nodes().size());
        assertEquals(1f, gemm.floatAttr("beta", 1f));
        assertEquals(alpha, gemm.floatAttr("alpha", 1f));
    }

    // ---- MatMul(+Add) → BN ----

    @ParameterizedTest(name = "bias={0}")
    @ValueSource(strings = {"none", "after", "before", "1x1"})
    void matMulThenBatchNormOnA2dOutput(String bias) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 5);
        Value y = b.op("MatMul", x, weights(b, "w", 5, 4));
        y = switch (bias) {
            case "after" -> b.op("Add", y, weights(b, "bias", 4));
            case "before" -> b.op("Add", weights(b, "bias", 1, 4), y);
            case "1x1" -> b.op("Add", y, weights(b, "bias", 1, 1));
            default -> y;
        };
        b.output(bn(b, y, 4));
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("MatMul+BatchNormalization", 1), result.counts());
        assertEquals(0, count(model, "BatchNormalization"));
        assertEquals(1, count(model, "MatMul"));
        assertEquals(1, count(model, "Add"), "the shift goes into the bias, or into one new Add");
    }

    /**
     * The token layout: a linear layer on [B, T, C] followed by a BatchNorm over C, which PyTorch
     * exports as Transpose → BatchNormalization → Transpose.
     */
    @ParameterizedTest(name = "bias={0} perm={1}")
    @CsvSource({
        "true, 021",
        "false, 021",
        "true, 0312",
    })
    void tokenBatchNormBetweenTransposesFoldsIntoTheLinearLayer(boolean withBias, String perm) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        long[] p = perm.chars().mapToLong(ch -> ch - '0').toArray();
        long[] back = new long[p.length];
        for (int i = 0; i < p.length; i++) {
            back[(int) p[i]] = i;
        }
        Value x = p.length == 3 ? b.input("x", DataType.FLOAT, "batch", 7, 5)
                : b.input("x", DataType.FLOAT, "batch", 3, 4, 5);
        Value y = b.op("MatMul", x, weights(b, "w", 5, 6));
        if (withBias) {
            y = b.op("Add", y, weights(b, "bias", 6));
        }
        Value t = b.node("Transpose", y).ints("perm", p).value();
        String out = b.output(b.node("Transpose", bn(b, t, 6)).ints("perm", back).value()).name();
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("MatMul+BatchNormalization", 1), result.counts());
        assertEquals(0, count(model, "Transpose"), "the Transpose pair cancels and goes with the BN");
        assertEquals(0, count(model, "BatchNormalization"));
        assertEquals(List.of("MatMul", "Add"), model.graph().nodes().stream().map(Node::opType).toList());
        assertEquals(out, model.graph().nodes().get(1).output(0).name());
    }

    @Test
    void tokenBatchNormWithoutTheTransposeBackKeepsTheFirstTranspose() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 7, 5);
        Value y = b.op("Add", b.op("MatMul", x, weights(b, "w", 5, 6)), weights(b, "bias", 6));
        Value t = b.node("Transpose", y).ints("perm", 0, 2, 1).value();
        b.output(b.op("Relu", bn(b, t, 6)));
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("MatMul+BatchNormalization", 1), result.counts());
        assertEquals(List.of("MatMul", "Add", "Transpose", "Relu"),
                model.graph().nodes().stream().map(Node::opType).toList());
    }

    @Test
    void transposeThatDoesNotBringTheLastAxisToChannelsIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 7, 5);
        Value y = b.op("MatMul", x, weights(b, "w", 5, 6));
        Value t = b.node("Transpose", y).ints("perm", 2, 0, 1).value(); // [6, batch, 7]: axis 1 is the batch
        b.output(b.node("Transpose", bn(b, t, 2)).ints("perm", 1, 2, 0).value());
        Model model = b.build();

        assertFellBackToMulAdd(model);
        assertEquals(2, count(model, "Transpose"));
    }

    @Test
    void tokenTransposeReadTwiceIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 7, 5);
        Value y = b.op("MatMul", x, weights(b, "w", 5, 6));
        Value t = b.node("Transpose", y).ints("perm", 0, 2, 1).value();
        b.output(b.node("Transpose", bn(b, t, 6)).ints("perm", 0, 2, 1).value());
        b.output(b.op("Relu", t));
        Model model = b.build();

        assertFellBackToMulAdd(model);
    }

    @Test
    void matMulWithBatchedOutputWhereAxisOneIsNotTheChannelIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 5);
        Value y = b.op("MatMul", x, weights(b, "w", 5, 4)); // [batch, 4, 4]: axis 1 is tokens, not the 4 outputs
        b.output(bn(b, y, 4));
        Model model = b.build();

        assertFellBackToMulAdd(model);
    }

    // ---- BN → Conv / MatMul / Gemm ----

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"grouped", "depthwise", "pointwise"})
    void batchNormThenConvWithoutPaddingFoldsIntoTheConv(String kind) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 7, 7);
        Value y = bn(b, x, 4);
        Value out = switch (kind) {
            case "grouped" -> b.node("Conv", y, weights(b, "w", 6, 2, 3, 3), weights(b, "b", 6))
                    .attr("group", 2).ints("strides", 2, 2).ints("pads", 0, 0, 0, 0).value();
            case "depthwise" -> b.node("Conv", y, weights(b, "w", 4, 1, 3, 3))
                    .attr("group", 4).attr("auto_pad", "VALID").ints("dilations", 2, 2).value();
            default -> b.node("Conv", y, weights(b, "w", 5, 4, 1, 1), weights(b, "b", 5)).value();
        };
        b.output(out);
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("BatchNormalization+Conv", 1), result.counts());
        assertEquals(List.of("Conv"), model.graph().nodes().stream().map(Node::opType).toList());
        assertSame(model.graph().inputs().get(0), model.graph().nodes().get(0).input(0));
    }

    @Test
    void batchNormThenPaddedConvIsNotFoldedForward() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 6, 6);
        b.output(b.node("Conv", bn(b, x, 4), weights(b, "w", 3, 4, 3, 3), weights(b, "b", 3))
                .ints("pads", 1, 1, 1, 1).value());
        Model model = b.build();

        assertFellBackToMulAdd(model);
    }

    @Test
    void batchNormThenSameUpperConvIsNotFoldedForward() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 6, 6);
        b.output(b.node("Conv", bn(b, x, 4), weights(b, "w", 3, 4, 3, 3)).attr("auto_pad", "SAME_UPPER").value());
        Model model = b.build();

        assertFellBackToMulAdd(model);
    }

    @ParameterizedTest(name = "bias={0}")
    @ValueSource(strings = {"none", "after", "before"})
    void batchNormThenMatMulFoldsIntoTheWeightAndABias(String bias) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 5);
        Value y = b.op("MatMul", bn(b, x, 5), weights(b, "w", 5, 3));
        y = switch (bias) {
            case "after" -> b.op("Add", y, weights(b, "bias", 3));
            case "before" -> b.op("Add", weights(b, "bias", 1, 3), y);
            default -> y;
        };
        b.output(y); // without a bias the MatMul output is the graph output: the new Add takes its name
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("BatchNormalization+MatMul", 1), result.counts());
        assertEquals(List.of("MatMul", "Add"), model.graph().nodes().stream().map(Node::opType).toList());
    }

    @ParameterizedTest(name = "transB={0} alpha={1} beta={2} C={3}")
    @CsvSource({
        "1, 1.0, 1.0, 3",
        "0, 0.8, 0.6, 3",
        "1, 1.3, 1.0, none",
        "0, 1.0, 0.5, 2x1",
    })
    void batchNormThenGemmFoldsIntoTheGemm(int transB, float alpha, float beta, String c) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 5);
        Value w = transB == 1 ? weights(b, "w", 3, 5) : weights(b, "w", 5, 3);
        Value y = bn(b, x, 5);
        Value bias = c.equals("none") ? null
                : weights(b, "c", Arrays.stream(c.split("x")).mapToLong(Long::parseLong).toArray());
        GraphBuilder.NodeSpec spec = bias == null ? b.node("Gemm", y, w) : b.node("Gemm", y, w, bias);
        b.output(spec.attr("transB", transB).attr("alpha", alpha).attr("beta", beta).value());
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("BatchNormalization+Gemm", 1), result.counts());
        assertEquals(List.of("Gemm"), model.graph().nodes().stream().map(Node::opType).toList());
        assertEquals(3, model.graph().nodes().get(0).inputs().size());
    }

    @Test
    void batchNormThenTransposedGemmIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 5, 4);
        b.output(b.node("Gemm", bn(b, x, 4), weights(b, "w", 5, 3)).attr("transA", 1).value());
        Model model = b.build();

        assertFellBackToMulAdd(model);
    }

    // ---- lone BN ----

    @ParameterizedTest(name = "rank {0}")
    @ValueSource(ints = {2, 3, 4, 5})
    void loneBatchNormBecomesMulAndAdd(int rank) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Object[] dims = new Object[rank];
        dims[0] = "batch";
        dims[1] = 3;
        for (int i = 2; i < rank; i++) {
            dims[i] = 4 - i / 2;
        }
        Value x = b.input("x", DataType.FLOAT, dims);
        Value y = bn(b, b.op("Relu", x), 3);
        b.output(rank % 2 == 0 ? y : b.op("Sigmoid", y)); // even ranks: the BN output is the graph output
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("lone BatchNormalization", 1), result.counts());
        assertEquals(0, count(model, "BatchNormalization"));
        assertEquals(1, count(model, "Mul"));
        assertEquals(1, count(model, "Add"));
        Node mul = model.graph().nodes().stream().filter(n -> n.is("Mul")).findFirst().orElseThrow();
        long[] expected = new long[rank - 1];
        Arrays.fill(expected, 1);
        expected[0] = 3;
        assertArrayEquals(expected, mul.input(1).initializer().dims(), "[C, 1, ..., 1] broadcasts over axis 1");
    }

    @Test
    void loneBatchNormOfUnknownRankIsLeftAlone() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = unknownRankInput(b, "x");
        b.output(bn(b, b.op("Relu", x), 3));
        PassTesting.assertUnchanged(PASS, b.build());
    }

    // ---- negatives of the backward folds ----

    @Test
    void convWeightThatIsNotConstantIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value w = b.input("w", DataType.FLOAT, 4, 3, 3, 3);
        b.output(bn(b, b.op("Conv", x, w), 4));
        assertFellBackToMulAdd(b.build());
    }

    @Test
    void convWeightThatIsAGraphInputWithADefaultIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value w = b.input("w", DataType.FLOAT, 4, 3, 3, 3);
        b.graph().addInitializer(w, b.randomFloats("w", 4, 3, 3, 3)); // an overridable default is not a constant
        b.output(bn(b, b.op("Conv", x, w), 4));
        Model model = b.build();
        PassResult result = PassTesting.run(PASS, model);
        assertEquals(Map.of("lone BatchNormalization", 1), result.counts());
        assertSame(w, model.graph().nodes().get(0).input(1));
    }

    @Test
    void convOutputReadTwiceIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value y = b.op("Conv", x, weights(b, "w", 4, 3, 3, 3));
        b.output(bn(b, y, 4));
        b.output(b.op("Relu", y));
        assertFellBackToMulAdd(b.build());
    }

    @Test
    void convOutputThatIsAGraphOutputIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value y = b.output(b.op("Conv", x, weights(b, "w", 4, 3, 3, 3)));
        b.output(bn(b, y, 4));
        assertFellBackToMulAdd(b.build());
    }

    @Test
    void convBiasThatIsNotConstantIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value bias = b.input("bias", DataType.FLOAT, 4);
        b.output(bn(b, b.op("Conv", x, weights(b, "w", 4, 3, 3, 3), bias), 4));
        assertFellBackToMulAdd(b.build());
    }

    @Test
    void gemmWithAnInputCIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 5);
        Value c = b.input("c", DataType.FLOAT, 6);
        b.output(bn(b, b.op("Gemm", x, weights(b, "w", 5, 6), c), 6));
        assertFellBackToMulAdd(b.build());
    }

    @Test
    void matMulWithAWeightThatIsNotConstantIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 5);
        Value w = b.input("w", DataType.FLOAT, 5, 4);
        b.output(bn(b, b.op("MatMul", x, w), 4));
        assertFellBackToMulAdd(b.build());
    }

    @Test
    void matMulBiasReadTwiceIsNotFolded() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 5);
        Value mm = b.op("MatMul", x, weights(b, "w", 5, 4));
        Value y = b.op("Add", mm, weights(b, "bias", 4));
        b.output(bn(b, y, 4));
        b.output(b.op("Relu", mm));
        assertFellBackToMulAdd(b.build());
    }

    // ---- what leaves a BatchNorm alone entirely ----

    @Test
    void batchNormWithAParameterThatIsNotConstantIsLeftAlone() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value y = b.op("Conv", x, weights(b, "w", 4, 3, 3, 3));
        Value mean = b.input("mean", DataType.FLOAT, 4);
        b.output(b.op("BatchNormalization", y, weights(b, "g", 4), weights(b, "b", 4), mean,
                b.initializer(Tensor.ofFloats("var", new long[] {4}, 1, 2, 3, 4))));
        PassTesting.assertUnchanged(PASS, b.build());
    }

    @Test
    void batchNormInTrainingModeIsLeftAlone() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value y = b.op("Conv", x, weights(b, "w", 4, 3, 3, 3));
        Node bn = batchNorm(b, y, 4, null);
        bn.setAttribute(Attribute.ofInt("training_mode", 1));
        b.output(bn.output(0));
        PassTesting.assertUnchanged(PASS, b.build());
    }

    @Test
    void batchNormWithAUsedStatisticsOutputIsLeftAlone() {
        GraphBuilder b = new GraphBuilder(9, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value y = b.op("Conv", x, weights(b, "w", 4, 3, 3, 3));
        Value[] in = {y, weights(b, "g", 4), weights(b, "b", 4), weights(b, "m", 4),
            b.initializer(Tensor.ofFloats("var", new long[] {4}, 1, 2, 3, 4))};
        List<Value> outs = b.node("BatchNormalization", in).outputs(3).build();
        b.output(outs.get(0));
        b.output(outs.get(1));
        PassTesting.assertUnchanged(PASS, b.build());
    }

    @Test
    void spatialZeroIsLeftAlone() {
        GraphBuilder b = new GraphBuilder(8, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value y = b.op("Conv", x, weights(b, "w", 4, 3, 3, 3));
        b.output(b.node("BatchNormalization", y, weights(b, "g", 4), weights(b, "b", 4), weights(b, "m", 4),
                b.initializer(Tensor.ofFloats("var", new long[] {4}, 1, 2, 3, 4))).attr("spatial", 0).value());
        PassTesting.assertUnchanged(PASS, b.build());
    }

    @Test
    void doublePrecisionIsLeftAlone() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.DOUBLE, "batch", 3);
        Value[] in = new Value[5];
        in[0] = x;
        String[] names = {"g", "b", "m", "v"};
        for (int i = 0; i < 4; i++) {
            ByteBuffer buf = ByteBuffer.allocate(24).order(ByteOrder.LITTLE_ENDIAN);
            buf.putDouble(1).putDouble(2).putDouble(3).flip();
            in[i + 1] = b.initializer(Tensor.ofRaw(names[i], DataType.DOUBLE, new long[] {3}, buf));
        }
        b.output(b.op("BatchNormalization", in));
        PassTesting.assertUnchanged(PASS, b.build());
    }

    // ---- sharing, idempotence, a real model ----

    @Test
    void aWeightSharedWithAnotherNodeIsNotOverwritten() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 5, 5);
        Value w = weights(b, "w", 4, 3, 3, 3);
        byte[] original = bytes(w.initializer());
        b.output(bn(b, b.op("Conv", x, w), 4));
        Node other = b.node("Conv", x, w).build().get(0).producer();
        b.output(other.output(0));
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("Conv+BatchNormalization", 1), result.counts());
        assertSame(w, other.input(1), "the other Conv still reads the shared weight");
        assertArrayEquals(original, bytes(model.graph().initializer("w").initializer()));
        Node folded = model.graph().nodes().get(0);
        assertNotEquals("w", folded.input(1).name());
    }

    @Test
    void aChainOfBatchNormsIsFoldedInOneRunAndTheSecondRunChangesNothing() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 6, 6);
        Value y = b.op("Conv", x, weights(b, "w1", 4, 3, 3, 3));
        y = bn(b, y, 4); // Conv → BN
        y = bn(b, y, 4); // then a BN after the folded Conv: Conv → BN again
        y = b.op("Conv", bn(b, b.op("Relu", y), 4), weights(b, "w2", 2, 4, 1, 1)); // BN → Conv
        b.output(bn(b, b.op("Relu", y), 2)); // lone
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("Conv+BatchNormalization", 2, "BatchNormalization+Conv", 1, "lone BatchNormalization", 1),
                result.counts());
        assertEquals(0, count(model, "BatchNormalization"));
    }

    @Test
    void batchNormsInsideIfBranchesAreFoldedToo() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value cond = b.input("cond", DataType.BOOL);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 5, 5);
        // the branches read the outer x and outer constants; the folded constants go into the branch
        Graph then = new Graph();
        then.setName("then");
        Value relu = new Value("then_relu");
        then.addNode(new Node("", "Relu", List.of(x), List.of(relu), List.of()));
        then.addNode(new Node("", "BatchNormalization", List.of(batchNormInputs(b, relu, 4)),
                List.of(new Value("then_bn")), List.of()));
        Graph other = new Graph();
        other.setName("else");
        Value conv = new Value("else_conv");
        other.addNode(new Node("", "Conv", List.of(x, weights(b, "w", 4, 4, 1, 1)), List.of(conv), List.of()));
        other.addNode(new Node("", "BatchNormalization", List.of(batchNormInputs(b, conv, 4)),
                List.of(new Value("else_bn")), List.of(Attribute.ofFloat("epsilon", 1e-3f))));
        for (Graph g : List.of(then, other)) {
            Value out = g.nodes().get(1).output(0);
            out.setType(ValueType.TensorType.of(DataType.FLOAT, GraphBuilder.shape("batch", 4, 5, 5)));
            g.addOutput(out);
        }
        b.output(b.node("If", cond).attr(Attribute.ofGraph("then_branch", then))
                .attr(Attribute.ofGraph("else_branch", other)).value());
        Model model = b.build();

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("lone BatchNormalization", 1, "Conv+BatchNormalization", 1), result.counts());
        assertEquals(List.of("Relu", "Mul", "Add"), then.nodes().stream().map(Node::opType).toList());
        assertEquals(List.of("Conv"), other.nodes().stream().map(Node::opType).toList());
        assertEquals(null, model.graph().initializer("w"), "the outer weight nobody reads any more is gone");
    }

    @Test
    void descriptorNamesTheLosslessPassWithoutOptions() {
        assertEquals("fold-batchnorm", FoldBatchNormPass.DESCRIPTOR.id());
        assertTrue(FoldBatchNormPass.DESCRIPTOR.lossless());
        assertEquals(List.of(), FoldBatchNormPass.DESCRIPTOR.options());
        assertEquals("fold-batchnorm", FoldBatchNormPass.DESCRIPTOR.create(Map.of()).id());
    }

    @Test
    void efficientVitLosesItsBatchNorm() throws Exception {
        Model model = OnnxReader.read(Path.of("../reference-models/models/efficientvit.onnx"));
        long opset = model.opsetVersion("");
        assertEquals(1, count(model, "BatchNormalization"));
        List<String> ops = new ArrayList<>(model.graph().nodes().stream().map(Node::opType).toList());
        ops.removeIf(op -> op.equals("BatchNormalization"));

        PassResult result = foldAndCompare(model);

        assertEquals(Map.of("BatchNormalization+Gemm", 1), result.counts());
        assertEquals(0, count(model, "BatchNormalization"));
        assertEquals(ops, model.graph().nodes().stream().map(Node::opType).toList(), "nothing else changes");
        assertEquals(opset, model.opsetVersion(""));
    }
}
