package dev.slimnx.passes.cleanup;

import static dev.slimnx.passes.testing.PassTesting.ATOL;
import static dev.slimnx.passes.testing.PassTesting.RTOL;
import static dev.slimnx.passes.testing.PassTesting.assertIdempotent;
import static dev.slimnx.passes.testing.PassTesting.assertSameOutputs;
import static dev.slimnx.passes.testing.PassTesting.assertUnchanged;
import static dev.slimnx.passes.testing.PassTesting.randomFeeds;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class FoldConstantsPassTest {
    private static final long SEED = 7;

    // ---- helpers ----

    private static long count(Model m, String opType) {
        return m.graph().nodes().stream().filter(n -> n.opType().equals(opType)).count();
    }

    private static Value longs(GraphBuilder b, String name, long... values) {
        return b.initializer(Tensor.ofLongs(name, new long[] {values.length}, values));
    }

    private static Value scalar(GraphBuilder b, String name, long value) {
        return b.initializer(Tensor.ofLongs(name, new long[0], value));
    }

    private static Value gather(GraphBuilder b, Value data, Value index) {
        return b.node("Gather", data, index).attr("axis", 0).value();
    }

    private static Value unsqueeze0(GraphBuilder b, Value v) {
        return b.op("Unsqueeze", v, longs(b, b.graph().names().fresh("axes"), 0));
    }

    private static Value concat0(GraphBuilder b, Value... parts) {
        return b.node("Concat", parts).attr("axis", 0).value();
    }

    // ---- Constant nodes ----

    @Test
    void constantNodesBecomeInitializersOfTheSameName() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3);
        Value c = b.node("Constant").attr(Attribute.ofTensor("value", Tensor.ofFloats("", new long[] {3}, 1f, 2f, 3f)))
                .value();
        Value half = b.node("Constant").attr("value_float", 0.5f).value();
        b.output(b.op("Mul", b.op("Add", x, c), half));
        Model model = b.build();
        Model before = model.copy();
        String cName = c.name();
        String halfName = half.name();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Constant", 2), result.counts());
        assertEquals(0, count(model, "Constant"));
        assertEquals(List.of("Add", "Mul"), model.graph().nodes().stream().map(Node::opType).toList());
        Value init = model.graph().initializer(cName);
        assertNotNull(init, "the initializer takes the Constant output's name");
        assertSame(init, model.graph().nodes().get(0).input(1));
        assertArrayEquals(new float[] {1f, 2f, 3f}, init.initializer().toFloatArray());
        assertArrayEquals(new long[0], model.graph().initializer(halfName).initializer().dims());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void aConstantThatIsAGraphOutputStaysAGraphOutput() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 2);
        b.output(b.op("Relu", x));
        Value c = b.node("Constant").attr(Attribute.ofTensor("value", Tensor.ofFloats("", new long[] {2}, 4f, 5f)))
                .value();
        b.output(c);
        Model model = b.build();
        Model before = model.copy();
        String name = c.name();

        PassTesting.run(new FoldConstantsPass(), model);

        Value out = model.graph().outputs().get(1);
        assertEquals(name, out.name());
        assertTrue(out.isInitializer());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    // ---- shapes ----

    @Test
    void shapeChainOnStaticDimsBecomesAConstantReshapeTarget() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 16, 64);
        Value shape = b.op("Shape", x);
        Value rows = b.op("Mul", gather(b, shape, scalar(b, "i0", 0)), gather(b, shape, scalar(b, "i1", 1)));
        Value target = concat0(b, unsqueeze0(b, rows), longs(b, "minus_one", -1));
        b.output(b.op("Relu", b.op("Reshape", x, target)));
        Model model = b.build();
        Model before = model.copy();
        String targetName = target.name();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Concat", 1, "Unsqueeze", 1, "Mul", 1, "Gather", 2, "Shape", 1), result.counts());
        assertEquals(List.of("Reshape", "Relu"), model.graph().nodes().stream().map(Node::opType).toList());
        Value folded = model.graph().nodes().get(0).input(1);
        assertEquals(targetName, folded.name());
        assertArrayEquals(new long[] {2 * 16, -1}, folded.constant().toLongArray());
        assertEquals(1, model.graph().initializers().size(), "the indices, axes and -1 went with the chain");
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    /** {@code x.view(B, H * W)} on {@code x: [batch, 16, 64]}: H * W folds, B stays a Gather of the Shape. */
    private static Model partiallySymbolicView() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 16, 64);
        Value shape = b.op("Shape", x);
        Value batch = gather(b, shape, scalar(b, "i0", 0));
        Value hw = b.op("Mul", gather(b, shape, scalar(b, "i1", 1)), gather(b, shape, scalar(b, "i2", 2)));
        Value target = concat0(b, unsqueeze0(b, batch), unsqueeze0(b, hw));
        b.output(b.op("Reshape", x, target));
        return b.build();
    }

    @Test
    void knownDimsOfASymbolicShapeFoldWhileTheBatchStaysDynamic() {
        Model model = partiallySymbolicView();
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Unsqueeze", 1, "Mul", 1, "Gather", 2, "Reshape target", 1), result.counts());
        assertEquals(List.of("Shape", "Gather", "Unsqueeze", "Concat", "Reshape"),
                model.graph().nodes().stream().map(Node::opType).toList());
        Node concat = model.graph().nodes().get(3);
        assertNull(concat.input(0).constant(), "the batch is read from the input at run time");
        assertArrayEquals(new long[] {16 * 64}, concat.input(1).constant().toLongArray());
        assertArrayEquals(new long[] {0, 16 * 64}, model.graph().nodes().get(4).input(1).constant().toLongArray(),
                "the Reshape keeps the batch with 0 and no longer reads the chain");
        assertSameOutputs(before, model, RTOL, ATOL);
        assertSameOutputs(before, model, randomFeeds(before, SEED, 5), RTOL, ATOL);
    }

    /** {@code x.view(B, N, heads, -1)} on {@code x: [batch, seq, 64]} with B and N read from the shape. */
    private static Model headsView(long allowzero, boolean swapBatchAndSeq) {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", "seq", 64);
        Value shape = b.op("Shape", x);
        Value batch = unsqueeze0(b, gather(b, shape, scalar(b, "i0", 0)));
        Value seq = unsqueeze0(b, gather(b, shape, scalar(b, "i1", 1)));
        Value target = swapBatchAndSeq ? concat0(b, seq, batch, longs(b, "rest", 64))
                : concat0(b, batch, seq, longs(b, "heads", 4), longs(b, "minus1", -1));
        b.output(b.node("Reshape", x, target).attr("allowzero", allowzero).value());
        return b.build();
    }

    @Test
    void aReshapeTargetReadFromTheShapeBecomesAConstantThatKeepsTheDynamicDims() {
        Model model = headsView(0, false);
        Model before = model.copy();
        PassResult result = PassTesting.run(new FoldConstantsPass(), model);
        assertEquals(1, result.counts().get("Reshape target"));
        Node reshape = model.graph().nodes().stream().filter(n -> n.is("Reshape")).findFirst().orElseThrow();
        assertArrayEquals(new long[] {0, 0, 4, -1}, reshape.input(1).constant().toLongArray());
        assertSameOutputs(before, model, RTOL, ATOL);
        assertSameOutputs(before, model, randomFeeds(before, SEED, 5), RTOL, ATOL);
        PassTesting.run(new DeadCodePass(), model);
        assertEquals(List.of("Reshape"), model.graph().nodes().stream().map(Node::opType).toList(),
                "the shape chain is dead code now");
        assertUnchanged(new FoldConstantsPass(), model);
    }

    @Test
    void aReshapeTargetIsKeptWhenZeroWouldMeanZeroOrTheDimsMoveAround() {
        assertEquals(0, PassTesting.run(new FoldConstantsPass(), headsView(1, false)).counts()
                .getOrDefault("Reshape target", 0), "allowzero = 1: 0 is a size, not a copy");
        assertEquals(0, PassTesting.run(new FoldConstantsPass(), headsView(0, true)).counts()
                .getOrDefault("Reshape target", 0), "seq and batch swapped: two dims no constant can express");
    }

    @Test
    void shapeStartEndAndSlicesOfAShapeFoldOnlyOverKnownDims() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 8, 4, 3);
        Value tail = b.node("Shape", x).attr("start", 1).value();
        Value s = b.op("Shape", x);
        Value reversed = b.op("Slice", s, longs(b, "s0", -1), longs(b, "e0", -4), longs(b, "a0", 0), longs(b, "st0", -1));
        Value withBatch = b.op("Slice", s, longs(b, "s1", 0), longs(b, "e1", 2));
        Value lastTwo = b.node("Shape", x).attr("start", -2).attr("end", 4).value();
        b.output(tail);
        b.output(reversed);
        b.output(withBatch);
        b.output(lastTwo);
        Model model = b.build();
        Model before = model.copy();
        List<String> names = model.graph().outputs().stream().map(Value::name).toList();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Shape", 2, "Slice", 1), result.counts());
        List<Value> outs = model.graph().outputs();
        assertEquals(names, outs.stream().map(Value::name).toList(), "graph outputs keep their names");
        assertArrayEquals(new long[] {8, 4, 3}, outs.get(0).constant().toLongArray());
        assertArrayEquals(new long[] {3, 4, 8}, outs.get(1).constant().toLongArray());
        assertNull(outs.get(2).constant(), "a slice holding the batch is not folded");
        assertArrayEquals(new long[] {4, 3}, outs.get(3).constant().toLongArray());
        assertSameOutputs(before, model, RTOL, ATOL);
        assertSameOutputs(before, model, randomFeeds(before, SEED, 3), RTOL, ATOL);
    }

    @Test
    void sizeOfAStaticShapeFolds() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value n = b.node("Cast", b.op("Size", x)).attr("to", DataType.FLOAT.code()).value();
        b.output(b.op("Div", x, n));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Size", 1, "Cast", 1), result.counts());
        assertArrayEquals(new float[] {6f}, model.graph().nodes().get(0).input(1).constant().toFloatArray());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void symbolicAndUnknownDimsAreNeverTurnedIntoNumbers() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", null, 4);
        Value s = b.op("Shape", x);
        Value target = concat0(b, unsqueeze0(b, gather(b, s, scalar(b, "i0", 0))),
                unsqueeze0(b, gather(b, s, scalar(b, "i1", 1))), longs(b, "four", 4));
        b.output(b.op("Reshape", x, target));
        b.output(b.op("Size", x));
        b.output(b.op("Slice", s, longs(b, "s1", 1), longs(b, "e1", 2)));

        assertUnchanged(new FoldConstantsPass(), b.build());
    }

    // ---- general ops ----

    @Test
    void addOfTwoInitializersBecomesOneInitializer() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Tensor w = b.randomFloats("w", 4, 3);
        Tensor bias = b.randomFloats("bias", 3);
        Value sum = b.op("Add", b.initializer(w), b.initializer(bias));
        b.output(b.op("MatMul", x, sum));
        Model model = b.build();
        Model before = model.copy();
        String sumName = sum.name();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Add", 1), result.counts());
        assertEquals(List.of("MatMul"), model.graph().nodes().stream().map(Node::opType).toList());
        assertEquals(List.of(sumName), model.graph().initializers().stream().map(Value::name).toList(),
                "w and bias were read only by the Add and went with it");
        float[] expected = w.toFloatArray();
        float[] bv = bias.toFloatArray();
        for (int i = 0; i < expected.length; i++) {
            expected[i] += bv[i % 3];
        }
        assertArrayEquals(expected, model.graph().initializer(sumName).initializer().toFloatArray());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void aChainOfWeightArithmeticIsComputedByOnnxRuntime() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value w = b.initializer(b.randomFloats("w", 6, 8));
        Value scale = b.initializer(b.randomFloats("scale", 6, 1));
        Value wt = b.node("Transpose", b.op("Mul", w, b.op("Sqrt", b.op("Abs", scale)))).ints("perm", 1, 0).value();
        Value y = b.op("MatMul", x, wt);
        Value shift = b.op("Softmax", b.op("Neg", b.initializer(b.randomFloats("shift", 6))));
        b.output(b.op("Add", y, shift));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Transpose", 1, "Mul", 1, "Sqrt", 1, "Abs", 1, "Softmax", 1, "Neg", 1),
                result.counts());
        assertEquals(List.of("MatMul", "Add"), model.graph().nodes().stream().map(Node::opType).toList());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void aFoldedGraphOutputKeepsItsName() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 3);
        Value sum = b.op("Add", b.initializer(b.randomFloats("a", 3)), b.initializer(b.randomFloats("c", 3)));
        b.output(b.op("Add", x, sum));
        b.output(sum);
        Model model = b.build();
        Model before = model.copy();
        String sumName = sum.name();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Add", 1), result.counts());
        Value out = model.graph().outputs().get(1);
        assertEquals(sumName, out.name());
        assertTrue(out.isInitializer());
        assertSame(out, model.graph().nodes().get(0).input(1), "the remaining Add reads the same initializer");
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    private static Tensor halves(String name, long[] dims, float... values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            buf.putShort(Float.floatToFloat16(v));
        }
        return Tensor.ofRaw(name, DataType.FLOAT16, dims, buf.flip());
    }

    /**
     * ONNX Runtime computes the float16 Mul in float32 and drops the Cast pair around it, so folding it
     * (with float16 rounding) would change the output by about 1e-4; moving float16 data and widening it
     * to float32 are exact and fold.
     */
    @Test
    void halfPrecisionArithmeticStaysWhileMovingAndWideningHalfPrecisionFolds() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 2);
        Value a = b.initializer(halves("a", new long[] {2, 3}, 0.1f, -0.7f, 0.33f, 1.5f, -2.25f, 0.01f));
        Value c = b.initializer(halves("c", new long[] {3, 2}, 0.3f, 0.9f, -0.41f, 0.6f, 0.77f, -1.3f));
        Value product = b.op("Mul", b.node("Transpose", a).ints("perm", 1, 0).value(), c);
        Value widened = b.node("Cast", b.node("Cast", c).attr("to", DataType.FLOAT.code()).value())
                .attr("to", DataType.FLOAT16.code()).value();
        Value sum = b.op("Add", product, widened);
        b.output(b.op("MatMul", x, b.op("Transpose", b.node("Cast", sum).attr("to", DataType.FLOAT.code()).value())));
        b.output(b.op("Mul", b.op("ReduceSum", x), b.node("Cast", a).attr("to", DataType.FLOAT.code()).value()));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Transpose", 1, "Cast", 2), result.counts(),
                "the Transpose of a and both Casts to float32; not the Mul, the Cast back to float16 or the Add");
        assertEquals(2, count(model, "Mul"));
        assertEquals(2, count(model, "Cast"), "the Cast to float16 and the one of a computed value stay");
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void valueInfoOfFoldedValuesGoesWithThem() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value shape = b.op("Shape", x);
        Value count = b.op("ReduceProd", shape);
        b.output(b.op("Reshape", x, unsqueeze0(b, count)));
        b.graph().valueInfos().addAll(List.of(shape, count));
        Model model = b.build();

        PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(List.of("Reshape"), model.graph().nodes().stream().map(Node::opType).toList());
        assertEquals(List.of(), model.graph().valueInfos());
    }

    // ---- what never folds ----

    @Test
    void randomOpsNeverFold() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value w = b.initializer(b.randomFloats("w", 3));
        Value normal = b.node("RandomNormal").ints("shape", 3).attr("seed", 1f).value();
        Value like = b.node("RandomUniformLike", w).attr("seed", 2f).value();
        Value coin = b.op("Bernoulli", b.op("Sigmoid", w));
        Value drop = b.node("Dropout", w).value();
        b.output(b.op("Add", b.op("Add", b.op("Add", x, normal), like), b.op("Add", coin, drop)));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Sigmoid", 1), result.counts(), "only the Sigmoid feeding Bernoulli is deterministic");
        for (String op : List.of("RandomNormal", "RandomUniformLike", "Bernoulli", "Dropout")) {
            assertEquals(1, count(model, op), op);
        }
        assertEquals(count(before, "Add"), count(model, "Add"));
    }

    @Test
    void otherDomainsAndNodesWithSubgraphsNeverFold() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value w = b.initializer(b.randomFloats("w", 3));
        Value custom = b.node("Gelu", w).domain("com.microsoft").value();
        Value cond = b.initializer(Tensor.ofIntegers("cond", DataType.BOOL, new long[0], 1));
        Value picked = new Value(b.graph().names().fresh("picked"));
        b.graph().addNode(new Node("", "If", List.of(cond), List.of(picked), List.of(
                Attribute.ofGraph("then_branch", branch("then", w, "Relu")),
                Attribute.ofGraph("else_branch", branch("else", w, "Neg")))));
        b.output(b.op("Add", b.op("Add", x, custom), picked));
        Model model = b.build();
        model.opsetImports().add(OpsetId.of("com.microsoft", 1));

        assertUnchanged(new FoldConstantsPass(), model);
    }

    private static Graph branch(String name, Value outer, String opType) {
        Graph g = new Graph();
        g.setName(name);
        Value out = new Value(name + "_out");
        g.addNode(new Node("", opType, List.of(outer), List.of(out), List.of()));
        g.addOutput(out);
        return g;
    }

    @Test
    void aGraphInputWithAnInitializerDefaultIsNotConstant() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value w = b.input("w", DataType.FLOAT, 3);
        b.graph().addInitializer(w, Tensor.ofFloats("w", new long[] {3}, 1f, 2f, 3f));
        Value c = b.initializer(b.randomFloats("c", 3));
        b.output(b.op("Add", x, b.op("Mul", w, c)));

        assertUnchanged(new FoldConstantsPass(), b.build());
    }

    @Test
    void aValueOfATypeOnnxRuntimeCannotReturnStaysButWhatFeedsItFolds() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.UINT32, 2);
        Value sum = b.op("Add", longs(b, "a", 1, 2), longs(b, "c", 30, 40));
        Value cast = b.node("Cast", sum).attr("to", DataType.UINT32.code()).value();
        b.output(b.op("Add", x, cast));
        Model model = b.build();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Add", 1), result.counts());
        assertEquals(List.of("Cast", "Add"), model.graph().nodes().stream().map(Node::opType).toList());
        assertArrayEquals(new long[] {31, 42}, model.graph().nodes().get(0).input(0).constant().toLongArray());
        assertUnchanged(new FoldConstantsPass(), model);
    }

    @Test
    void aNodeOnnxRuntimeCannotRunStaysWhileOthersFold() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2);
        Value k = b.input("k", DataType.INT16, 2);
        Value small = b.initializer(Tensor.ofIntegers("p", DataType.INT16, new long[] {2}, 1, 9));
        Value other = b.initializer(Tensor.ofIntegers("q", DataType.INT16, new long[] {2}, 5, 3));
        // NOTE: ONNX Runtime's CPU provider has no Max kernel for int16 (checked with 1.23).
        b.output(b.op("Add", k, b.op("Max", small, other)));
        Value sum = b.op("Add", b.initializer(b.randomFloats("a", 2)), b.initializer(b.randomFloats("c", 2)));
        b.output(b.op("Mul", x, sum));
        Model model = b.build();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Add", 1), result.counts(), "the float Add folds, the int16 Max stays");
        Node max = model.graph().nodes().stream().filter(n -> n.is("Max")).findFirst().orElseThrow();
        assertEquals(List.of("p", "q"), max.inputs().stream().map(Value::name).toList());
        assertTrue(model.graph().outputs().get(1).producer().is("Mul"));
    }

    @Test
    void modelsWhoseInitializersMustBeGraphInputsAreLeftAlone() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 2);
        b.output(b.op("Add", x, b.node("Constant").attr("value_float", 1f).value()));
        Model model = b.build();
        model.setIrVersion(3);

        assertUnchanged(new FoldConstantsPass(), model);
    }

    // ---- the size cap ----

    @Test
    void expandingAScalarToALargeTensorIsLeftAlone() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 128, 256);
        Value one = b.initializer(Tensor.ofFloats("one", new long[0], 1f));
        Value big = b.op("Expand", one, longs(b, "dims", 128, 256));
        Value zeros = b.op("ConstantOfShape", longs(b, "dims2", 128, 256));
        b.output(b.op("Add", b.op("Mul", x, big), zeros));

        assertUnchanged(new FoldConstantsPass(), b.build());
    }

    /** {@code Expand(scalar, [64])}: 256 bytes made from 4 + 8 bytes of constants. */
    private static Model expandTo64() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 64);
        Value e = b.op("Expand", b.initializer(Tensor.ofFloats("two", new long[0], 2f)), longs(b, "dims", 64));
        b.output(b.op("Mul", x, e));
        return b.build();
    }

    @Test
    void theCapIsTheGrowthBeyondTheFreedConstants() {
        long freed = 4 + 8;
        assertUnchanged(new FoldConstantsPass(new FoldConstantsPass.Options(256 - freed - 1)), expandTo64());

        Model model = expandTo64();
        Model before = model.copy();
        PassResult result = PassTesting.run(new FoldConstantsPass(new FoldConstantsPass.Options(256 - freed)), model);
        assertEquals(Map.of("Expand", 1), result.counts());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void aFoldThatFreesItsInputsNeedsNoAllowance() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 64);
        Value w = b.op("Add", b.initializer(b.randomFloats("w", 64, 64)), b.initializer(b.randomFloats("d", 64, 64)));
        b.output(b.op("MatMul", x, w));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(new FoldConstantsPass.Options(0)), model);

        assertEquals(Map.of("Add", 1), result.counts());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void aTransposeOfAWeightOthersStillReadIsNotCopied() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, "batch", 32);
        Value w = b.initializer(b.randomFloats("w", 32, 32));
        Value wt = b.node("Transpose", w).ints("perm", 1, 0).value();
        b.output(b.op("Add", b.op("MatMul", x, w), b.op("MatMul", x, wt)));
        Model capped = b.build();
        Model generous = capped.copy();

        assertUnchanged(new FoldConstantsPass(new FoldConstantsPass.Options(1024)), capped);
        PassResult result = PassTesting.run(new FoldConstantsPass(), generous);
        assertEquals(Map.of("Transpose", 1), result.counts(), "4 KiB of growth is within the default 64 KiB");
    }

    @Test
    void aShapeChainFeedingATooLargeConstantOfShapeStillFolds() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value x = b.input("x", DataType.FLOAT, 256, 256);
        Value zeros = b.op("ConstantOfShape", b.op("Shape", x));
        b.output(b.op("Add", x, zeros));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals(Map.of("Shape", 1), result.counts());
        assertEquals(List.of("ConstantOfShape", "Add"), model.graph().nodes().stream().map(Node::opType).toList());
        assertArrayEquals(new long[] {256, 256}, model.graph().nodes().get(0).input(0).constant().toLongArray());
        assertSameOutputs(before, model, RTOL, ATOL);
        assertUnchanged(new FoldConstantsPass(), model);
    }

    // ---- idempotence, options, reference models ----

    @Test
    void aSecondRunChangesNothing() {
        PassResult first = assertIdempotent(new FoldConstantsPass(), partiallySymbolicView());
        assertTrue(first.changed());
        assertTrue(assertIdempotent(new FoldConstantsPass(new FoldConstantsPass.Options(0)), expandTo64()).counts()
                .isEmpty());
    }

    @Test
    void optionsAreCheckedAndReadFromTheDescriptor() {
        assertThrows(IllegalArgumentException.class, () -> new FoldConstantsPass.Options(-1));
        FoldConstantsPass pass = (FoldConstantsPass) FoldConstantsPass.DESCRIPTOR.create(Map.of("max-growth-bytes", "1k"));
        assertEquals(1024, pass.options().maxGrowthBytes());
        FoldConstantsPass defaults = (FoldConstantsPass) FoldConstantsPass.DESCRIPTOR.create(Map.of());
        assertEquals(FoldConstantsPass.Options.defaults(), defaults.options());
        assertThrows(IllegalArgumentException.class,
                () -> FoldConstantsPass.DESCRIPTOR.create(Map.of("max-growth-bytes", "-5")));
        assertTrue(FoldConstantsPass.DESCRIPTOR.lossless());
    }

    @ParameterizedTest
    @ValueSource(strings = {"efficientvit", "vit"})
    void referenceModelsLoseNodesAndKeepTheirOutputs(String name) throws Exception {
        Model model = OnnxReader.read(Path.of("../reference-models/models/" + name + ".onnx"));
        Model before = model.copy();

        PassResult result = PassTesting.run(new FoldConstantsPass(), model);

        assertEquals((int) count(before, "Constant"), result.counts().get("Constant"));
        assertEquals(0, count(model, "Constant"));
        assertTrue(result.total() > count(before, "Constant"), "shape computations fold too: " + result.summary());
        int retargeted = result.counts().getOrDefault("Reshape target", 0);
        assertEquals(before.graph().nodes().size() - result.total() + retargeted, model.graph().nodes().size());
        assertTrue(count(model, "Shape") < count(before, "Shape"));
        assertSameOutputs(before, model, RTOL, ATOL);
        assertSameOutputs(before, model, randomFeeds(before, SEED, 3), RTOL, ATOL);
        assertUnchanged(new FoldConstantsPass(), model);
    }
}
