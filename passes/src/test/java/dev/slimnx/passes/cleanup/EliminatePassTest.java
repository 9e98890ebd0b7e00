package dev.slimnx.passes.cleanup;

import static dev.slimnx.passes.testing.PassTesting.ATOL;
import static dev.slimnx.passes.testing.PassTesting.RTOL;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EliminatePassTest {
    private static final long TO_THE_END = Long.MAX_VALUE;

    // ---- helpers ----

    /** Runs the pass on {@code model} and checks outputs against a copy taken before. */
    private static PassResult runAndCompare(Model model) {
        Model before = model.copy();
        PassResult result = PassTesting.run(new EliminatePass(), model);
        PassTesting.assertSameOutputs(before, model, RTOL, ATOL);
        return result;
    }

    private static void assertUnchanged(Model model) {
        PassTesting.assertUnchanged(new EliminatePass(), model);
    }

    /** @return op type to count, over every graph */
    private static Map<String, Integer> ops(Model m) {
        Map<String, Integer> counts = new TreeMap<>();
        for (Node n : m.graph().allNodes()) {
            counts.merge(n.opType(), 1, Integer::sum);
        }
        return counts;
    }

    private static List<String> outputNames(Model m) {
        return m.graph().outputs().stream().map(Value::name).toList();
    }

    private static Value longs(GraphBuilder b, String name, long... values) {
        return b.initializer(Tensor.ofLongs(name, new long[] {values.length}, values));
    }

    private static Node only(Model m, String opType) {
        List<Node> found = m.graph().nodes().stream().filter(n -> n.is(opType)).toList();
        assertEquals(1, found.size(), "one " + opType + " in " + ops(m));
        return found.get(0);
    }

    /** x -> Relu -> {@code middle} -> Relu -> output: the no-op in the middle has real neighbours. */
    private interface Middle {
        Value apply(GraphBuilder b, Value x);
    }

    private static Model sandwich(long opset, Middle middle, Object... dims) {
        GraphBuilder b = new GraphBuilder(opset, 7);
        Value x = b.input("x", DataType.FLOAT, dims);
        Value y = b.op("Relu", middle.apply(b, b.op("Relu", x)));
        b.output(y);
        return b.build();
    }

    // ---- descriptor ----

    @Test
    void descriptorNamesALosslessPassWithoutOptions() {
        assertEquals("eliminate", EliminatePass.DESCRIPTOR.id());
        assertTrue(EliminatePass.DESCRIPTOR.lossless());
        assertEquals(List.of(), EliminatePass.DESCRIPTOR.options());
        assertInstanceOf(EliminatePass.class, EliminatePass.DESCRIPTOR.create(Map.of()));
        assertThrows(IllegalArgumentException.class, () -> EliminatePass.DESCRIPTOR.create(Map.of("x", "1")));
    }

    // ---- Identity ----

    @Test
    void removesAChainOfIdentitiesAndTheOutputKeepsItsName() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value y = b.op("Identity", b.op("Identity", b.op("Relu", x)));
        b.output(y, DataType.FLOAT, "batch", 4);
        Model model = b.build();
        List<String> names = outputNames(model);

        PassResult result = runAndCompare(model);

        assertEquals(Map.of("Identity", 2), result.counts());
        assertEquals(Map.of("Relu", 1), ops(model));
        assertEquals(names, outputNames(model));
        assertEquals(ValueType.TensorType.of(DataType.FLOAT, GraphBuilder.shape("batch", 4)),
                model.graph().outputs().get(0).type(), "the output keeps its declared type");
    }

    @Test
    void removesAnIdentityThatReadsAGraphInputWhenItsOutputIsInternal() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 3);
        b.output(b.op("Relu", b.op("Identity", x)));
        Model model = b.build();

        PassResult result = runAndCompare(model);

        assertEquals(Map.of("Identity", 1), result.counts());
        assertSame(model.graph().inputs().get(0), only(model, "Relu").input(0));
    }

    @Test
    void dropsTheValueInfoOfARemovedOutput() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value id = b.op("Identity", b.op("Relu", x));
        id.setType(ValueType.TensorType.of(DataType.FLOAT, GraphBuilder.shape(3)));
        b.graph().valueInfos().add(id);
        b.output(b.op("Relu", id));
        Model model = b.build();

        assertEquals(Map.of("Identity", 1), runAndCompare(model).counts());
        assertEquals(List.of(), model.graph().valueInfos(), "no value_info for a value that is gone");
    }

    @Test
    void keepsAnIdentityFromAGraphInputToAGraphOutput() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 3);
        b.output(b.op("Identity", x));
        assertUnchanged(b.build());
    }

    @Test
    void keepsAnIdentityFromAnInitializerToAGraphOutput() {
        GraphBuilder b = new GraphBuilder(17, 1);
        b.input("x", DataType.FLOAT, 3);
        Value w = b.initializer(b.randomFloats("w", 3));
        b.output(b.op("Identity", w));
        assertUnchanged(b.build());
    }

    @Test
    void keepsAnIdentityBetweenTwoGraphOutputs() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 3);
        Value r = b.output(b.op("Relu", x));
        b.output(b.op("Identity", r));
        assertUnchanged(b.build());
    }

    // ---- Dropout ----

    @Test
    void removesAnInferenceDropoutWhoseMaskIsUnread() {
        Model model = sandwich(17, (b, x) -> b.node("Dropout", x, b.initializer(
                Tensor.ofFloats("ratio", new long[0], 0.5f))).outputs(2).build().get(0), "batch", 8);

        PassResult result = runAndCompare(model);

        assertEquals(Map.of("Dropout", 1), result.counts());
        assertEquals(Map.of("Relu", 2), ops(model));
        assertTrue(model.graph().initializers().isEmpty(), "the ratio went with it");
    }

    @Test
    void removesADropoutWithAConstantFalseTrainingMode() {
        Model model = sandwich(17, (b, x) -> b.op("Dropout", x, null,
                b.initializer(Tensor.ofIntegers("training", DataType.BOOL, new long[0], 0))), 2, 8);
        assertEquals(Map.of("Dropout", 1), runAndCompare(model).counts());
    }

    @Test
    void removesADropoutAtOpset11() {
        Model model = sandwich(11, (b, x) -> b.node("Dropout", x).attr("ratio", 0.3f).value(), 2, 8);
        assertEquals(Map.of("Dropout", 1), runAndCompare(model).counts());
    }

    @Test
    void keepsATrainingDropout() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Dropout", x, null,
                b.initializer(Tensor.ofIntegers("training", DataType.BOOL, new long[0], 1))), 2, 8));
    }

    @Test
    void keepsADropoutWhoseTrainingModeIsNotConstant() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        Value training = b.input("training", DataType.BOOL);
        b.output(b.op("Relu", b.op("Dropout", b.op("Relu", x), null, training)));
        assertUnchanged(b.build());
    }

    @Test
    void keepsADropoutWhoseMaskIsRead() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        List<Value> outs = b.node("Dropout", b.op("Relu", x)).outputs(2).build();
        b.output(b.op("Relu", outs.get(0)));
        b.output(outs.get(1));
        assertUnchanged(b.build());
    }

    // ---- Cast ----

    @Test
    void removesACastToTheTypeTheInputHas() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value y = b.op("Relu", b.node("Cast", x).attr("to", DataType.FLOAT.code()).value());
        b.output(y);
        Model model = b.build();

        assertEquals(Map.of("Cast", 1), runAndCompare(model).counts());
        assertEquals(Map.of("Relu", 1), ops(model));
    }

    @Test
    void removesACastWhoseInputTypeIsOnlyInferred() {
        Model model = sandwich(17, (b, x) -> b.node("Cast", b.op("Relu", x))
                .attr("to", DataType.FLOAT.code()).value(), 4);
        assertEquals(null, model.graph().nodes().get(1).output(0).type(), "the Relu output carries no type");
        assertEquals(Map.of("Cast", 1), runAndCompare(model).counts());
    }

    @Test
    void keepsACastThatChangesTheType() {
        assertUnchanged(sandwich(17, (b, x) -> b.node("Cast", x).attr("to", DataType.DOUBLE.code()).value(), 4));
    }

    @Test
    void keepsACastOfAValueOfUnknownType() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value custom = b.node("Mystery", x).domain("com.example").value();
        b.output(b.node("Cast", custom).attr("to", DataType.FLOAT.code()).value());
        Model model = b.build();
        model.opsetImports().add(dev.slimnx.graph.OpsetId.of("com.example", 1));
        assertUnchanged(model);
    }

    // ---- Reshape ----

    @ParameterizedTest
    @ValueSource(strings = {"0,16,-1", "-1,16,64", "0,0,64", "0,16,64"})
    void removesAReshapeToTheShapeItAlreadyHas(String target) {
        long[] t = java.util.Arrays.stream(target.split(",")).mapToLong(Long::parseLong).toArray();
        Model model = sandwich(17, (b, x) -> b.op("Reshape", x, longs(b, "target", t)), "batch", 16, 64);

        assertEquals(Map.of("Reshape", 1), runAndCompare(model).counts());
        assertEquals(Map.of("Relu", 2), ops(model));
        assertTrue(model.graph().initializers().isEmpty());
    }

    @Test
    void keepsAReshapeThatChangesTheShape() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Reshape", x, longs(b, "target", 0, 64, 16)), "batch", 16, 64));
    }

    @Test
    void keepsAReshapeOverAnUnknownDim() {
        // [batch, ?, 64] -> [-1, 16, 64]: the second dim may or may not be 16
        assertUnchanged(sandwich(17, (b, x) -> b.op("Reshape", x, longs(b, "target", -1, 16, 64)), "batch", null, 64));
    }

    @Test
    void keepsAReshapeWhoseTargetIsNotConstant() {
        // Reshape(x, Shape(x)) is a no-op, but the target is computed at run time
        assertUnchanged(sandwich(17, (b, x) -> b.op("Reshape", x, b.op("Shape", x)), 2, 16, 64));
    }

    @Test
    void keepsAReshapeWhereAllowzeroMakesZeroASize() {
        assertUnchanged(sandwich(17, (b, x) -> b.node("Reshape", x, longs(b, "target", 0, 16, 64))
                .attr("allowzero", 1L).value(), "batch", 16, 64));
    }

    @Test
    void foldsTwoReshapesIntoOne() {
        Model model = sandwich(17, (b, x) -> b.op("Reshape", b.op("Reshape", x, longs(b, "a", 6, 4)),
                longs(b, "b", 4, 6)), 2, 3, 4);

        assertEquals(Map.of("Reshape+Reshape", 1), runAndCompare(model).counts());
        Node reshape = only(model, "Reshape");
        assertArrayEquals(new long[] {4, 6}, reshape.input(1).constant().toLongArray());
        assertSame(model.graph().nodes().get(0).output(0), reshape.input(0), "it reads the first Relu");
        assertEquals(1, model.graph().initializers().size(), "the first target went with its Reshape");
    }

    @Test
    void foldsTwoReshapesWhenEveryZeroCopiesADimXShares() {
        Model model = sandwich(17, (b, x) -> b.op("Reshape", b.op("Reshape", x, longs(b, "a", 0, 12)),
                longs(b, "b", 0, 4, 3)), "batch", 3, 4);
        assertEquals(Map.of("Reshape+Reshape", 1), runAndCompare(model).counts());
    }

    @Test
    void foldsTwoReshapesAndThenTheNoOpLeft() {
        Model model = sandwich(17, (b, x) -> b.op("Reshape", b.op("Reshape", x, longs(b, "a", 24)),
                longs(b, "b", 2, 12)), 2, 12);
        assertEquals(Map.of("Reshape+Reshape", 1, "Reshape", 1), runAndCompare(model).counts());
        assertEquals(Map.of("Relu", 2), ops(model));
    }

    @Test
    void keepsTwoReshapesWhenAZeroWouldCopyADifferentDim() {
        // [2, 3, 4] -> [3, 2, 4] -> [0, -1]: the 0 copies 3 from the middle, x would give 2
        assertUnchanged(sandwich(17, (b, x) -> b.op("Reshape", b.op("Reshape", x, longs(b, "a", 3, 2, 4)),
                longs(b, "b", 0, -1)), 2, 3, 4));
    }

    @Test
    void keepsTwoReshapesWhenTheMiddleIsReadTwice() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3, 4);
        Value mid = b.op("Reshape", b.op("Relu", x), longs(b, "a", 6, 4));
        b.output(b.op("Reshape", mid, longs(b, "b", 4, 6)));
        b.output(b.op("Relu", mid));
        assertUnchanged(b.build());
    }

    @Test
    void keepsTwoReshapesWhenTheMiddleIsAGraphOutput() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3, 4);
        Value mid = b.output(b.op("Reshape", b.op("Relu", x), longs(b, "a", 6, 4)));
        b.output(b.op("Relu", b.op("Reshape", mid, longs(b, "b", 4, 6))));
        assertUnchanged(b.build());
    }

    // ---- Flatten, Squeeze, Unsqueeze, Expand ----

    @Test
    void removesAFlattenOfAMatrix() {
        Model model = sandwich(17, (b, x) -> b.node("Flatten", x).attr("axis", 1L).value(), "batch", 8);
        assertEquals(Map.of("Flatten", 1), runAndCompare(model).counts());
    }

    @Test
    void removesAFlattenAtAxisZeroOfARowVector() {
        Model model = sandwich(17, (b, x) -> b.node("Flatten", x).attr("axis", 0L).value(), 1, 8);
        assertEquals(Map.of("Flatten", 1), runAndCompare(model).counts());
    }

    @Test
    void keepsAFlattenThatMergesDims() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Flatten", x), "batch", 2, 4));
        assertUnchanged(sandwich(17, (b, x) -> b.node("Flatten", x).attr("axis", 0L).value(), "batch", 8));
    }

    @Test
    void removesASqueezeWithNothingToSqueeze() {
        Model model = sandwich(17, (b, x) -> b.op("Squeeze", x), 2, 3);
        assertEquals(Map.of("Squeeze", 1), runAndCompare(model).counts());
    }

    @Test
    void keepsASqueezeOfASymbolicDimThatMayBeOne() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Squeeze", x), "batch", 3));
    }

    @Test
    void keepsASqueezeWithAxes() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Squeeze", x, longs(b, "axes", 1)), 2, 1));
        assertUnchanged(sandwich(11, (b, x) -> b.node("Squeeze", x).ints("axes", 1).value(), 2, 1));
    }

    @Test
    void removesAnUnsqueezeOfNoAxes() {
        Value[] axes = new Value[1];
        Model model = sandwich(17, (b, x) -> b.op("Unsqueeze", x,
                axes[0] = b.initializer(Tensor.ofLongs("axes", new long[] {0}))), 2, 3);
        assertEquals(0, axes[0].constant().numElements(), "an empty list of axes");
        assertEquals(Map.of("Unsqueeze", 1), runAndCompare(model).counts());
    }

    @Test
    void keepsAnUnsqueeze() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Unsqueeze", x, longs(b, "axes", 0)), 2, 3));
    }

    @Test
    void removesAnExpandToOnes() {
        Model model = sandwich(17, (b, x) -> b.op("Expand", x, longs(b, "shape", 1, 1)), "batch", 3);
        assertEquals(Map.of("Expand", 1), runAndCompare(model).counts());
        Model shorter = sandwich(17, (b, x) -> b.op("Expand", x, longs(b, "shape", 1)), 2, 3);
        assertEquals(Map.of("Expand", 1), runAndCompare(shorter).counts());
    }

    @Test
    void keepsAnExpandThatBroadcasts() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Expand", x, longs(b, "shape", 1, 1, 1)), 2, 3));
        assertUnchanged(sandwich(17, (b, x) -> b.op("Expand", x, longs(b, "shape", 2, 1)), 1, 3));
        assertUnchanged(sandwich(17, (b, x) -> b.op("Expand", x, b.op("Shape", x)), 2, 3));
    }

    // ---- Transpose ----

    @Test
    void removesACancellingTransposePair() {
        Model model = sandwich(17, (b, x) -> b.node("Transpose", b.node("Transpose", x).ints("perm", 1, 2, 0).value())
                .ints("perm", 2, 0, 1).value(), 2, 3, 4);

        assertEquals(Map.of("Transpose pair", 1), runAndCompare(model).counts());
        assertEquals(Map.of("Relu", 2), ops(model));
    }

    @Test
    void removesAPairOfDefaultTransposes() {
        Model model = sandwich(17, (b, x) -> b.op("Transpose", b.op("Transpose", x)), "batch", 3, 4);
        assertEquals(Map.of("Transpose pair", 1), runAndCompare(model).counts());
    }

    @Test
    void composesTwoTransposesThatDoNotCancel() {
        Model model = sandwich(17, (b, x) -> b.node("Transpose", b.node("Transpose", x).ints("perm", 1, 0, 2).value())
                .ints("perm", 0, 2, 1).value(), 2, 3, 4);

        assertEquals(Map.of("Transpose+Transpose", 1), runAndCompare(model).counts());
        // output dim i comes from input dim p1[p2[i]] = {1, 0, 2}[{0, 2, 1}[i]] = {1, 2, 0}[i]
        assertArrayEquals(new long[] {1, 2, 0}, only(model, "Transpose").intsAttr("perm"));
    }

    @Test
    void removesAnIdentityTranspose() {
        Model model = sandwich(17, (b, x) -> b.node("Transpose", x).ints("perm", 0, 1, 2).value(), 2, 3, 4);
        assertEquals(Map.of("Transpose", 1), runAndCompare(model).counts());
    }

    @Test
    void foldsACancellingPairIntoOneTransposeWhenTheOutputNameCannotMove() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        b.output(b.op("Transpose", b.op("Transpose", x)));
        Model model = b.build();
        List<String> names = outputNames(model);

        assertEquals(Map.of("Transpose+Transpose", 1), runAndCompare(model).counts());
        assertArrayEquals(new long[] {0, 1}, only(model, "Transpose").intsAttr("perm"));
        assertEquals(names, outputNames(model));
        assertUnchanged(model);
    }

    @Test
    void removesTwoOfThreeReversals() {
        Model model = sandwich(17, (b, x) -> b.op("Transpose", b.op("Transpose", b.op("Transpose", x))), 2, 3);
        assertEquals(Map.of("Transpose pair", 1), runAndCompare(model).counts());
        assertEquals(1, ops(model).get("Transpose"));
    }

    @Test
    void keepsTransposesWhoseMiddleIsReadTwiceOrIsAGraphOutput() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value mid = b.op("Transpose", b.op("Relu", x));
        b.output(b.op("Transpose", mid));
        b.output(b.op("Relu", mid));
        assertUnchanged(b.build());

        GraphBuilder c = new GraphBuilder(17, 1);
        Value y = c.input("x", DataType.FLOAT, 2, 3);
        Value out = c.output(c.op("Transpose", c.op("Relu", y)));
        c.output(c.op("Relu", c.op("Transpose", out)));
        assertUnchanged(c.build());
    }

    @Test
    void keepsADefaultTransposeOfUnknownRank() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 4);
        Value custom = b.node("Mystery", x).domain("com.example").value();
        b.output(b.op("Relu", b.op("Transpose", b.op("Transpose", custom))));
        Model model = b.build();
        model.opsetImports().add(dev.slimnx.graph.OpsetId.of("com.example", 1));
        assertUnchanged(model);
    }

    // ---- Slice ----

    @Test
    void removesASliceToTheEnd() {
        Model model = sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", 0), longs(b, "ends", TO_THE_END),
                longs(b, "axes", 0)), "batch", 3);
        assertEquals(Map.of("Slice", 1), runAndCompare(model).counts());
        assertTrue(model.graph().initializers().isEmpty());
    }

    @Test
    void removesASliceOfWholeKnownAxes() {
        Model model = sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", 0, -4), longs(b, "ends", 3, 100),
                longs(b, "axes", 1, -1), longs(b, "steps", 1, 1)), "batch", 3, 4);
        assertEquals(Map.of("Slice", 1), runAndCompare(model).counts());
    }

    @Test
    void removesAReversalOfAnAxisOfOne() {
        Model model = sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", -1), longs(b, "ends", -TO_THE_END),
                longs(b, "axes", 1), longs(b, "steps", -1)), 2, 1);
        assertEquals(Map.of("Slice", 1), runAndCompare(model).counts());
    }

    @Test
    void removesASliceAtOpset9() {
        Model model = sandwich(9, (b, x) -> b.node("Slice", x).ints("starts", 0).ints("ends", TO_THE_END)
                .ints("axes", 1).value(), 2, 3);
        assertEquals(Map.of("Slice", 1), runAndCompare(model).counts());
    }

    @Test
    void keepsSlicesThatDropOrReorderElements() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", 0), longs(b, "ends", 2),
                longs(b, "axes", 1)), 2, 3));
        assertUnchanged(sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", 1), longs(b, "ends", TO_THE_END),
                longs(b, "axes", 1)), 2, 3));
        assertUnchanged(sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", -1), longs(b, "ends", -TO_THE_END),
                longs(b, "axes", 1), longs(b, "steps", -1)), 2, 3));
        assertUnchanged(sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", 0), longs(b, "ends", TO_THE_END),
                longs(b, "axes", 1), longs(b, "steps", 2)), 2, 3));
        // a symbolic dim may be longer than any finite end
        assertUnchanged(sandwich(17, (b, x) -> b.op("Slice", x, longs(b, "starts", 0), longs(b, "ends", 1000),
                longs(b, "axes", 0)), "batch", 3));
    }

    @Test
    void keepsASliceWhoseStartsAreNotConstant() {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value starts = b.input("starts", DataType.INT64, 1);
        b.output(b.op("Slice", b.op("Relu", x), starts, longs(b, "ends", TO_THE_END), longs(b, "axes", 1)));
        assertUnchanged(b.build());
    }

    // ---- Concat, Pad ----

    @Test
    void removesAConcatOfOneInput() {
        Model model = sandwich(17, (b, x) -> b.node("Concat", x).attr("axis", 0L).value(), 2, 3);
        assertEquals(Map.of("Concat", 1), runAndCompare(model).counts());
        assertUnchanged(sandwich(17, (b, x) -> b.node("Concat", x, x).attr("axis", 0L).value(), 2, 3));
    }

    @ParameterizedTest
    @ValueSource(strings = {"constant", "reflect", "edge"})
    void removesAPadOfZeros(String mode) {
        Model model = sandwich(17, (b, x) -> b.node("Pad", x, longs(b, "pads", 0, 0, 0, 0))
                .attr("mode", mode).value(), 2, 3);
        assertEquals(Map.of("Pad", 1), runAndCompare(model).counts());
    }

    @Test
    void removesAPadOfZerosAtOpset10() {
        Model model = sandwich(10, (b, x) -> b.node("Pad", x).ints("pads", 0, 0, 0, 0).value(), 2, 3);
        assertEquals(Map.of("Pad", 1), runAndCompare(model).counts());
    }

    @Test
    void keepsAPadThatPads() {
        assertUnchanged(sandwich(17, (b, x) -> b.op("Pad", x, longs(b, "pads", 0, 1, 0, 0)), 2, 3));
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value pads = b.input("pads", DataType.INT64, 4);
        b.output(b.op("Pad", b.op("Relu", x), pads));
        assertUnchanged(b.build());
    }

    // ---- subgraphs ----

    /** x -> Relu -> If(cond) { then: body(r); else: Neg(r) } -> output. */
    private static Model withIf(java.util.function.BiFunction<Graph, Value, Value> thenBody) {
        GraphBuilder b = new GraphBuilder(17, 1);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value cond = b.input("cond", DataType.BOOL);
        Value r = b.op("Relu", x);
        Graph then = new Graph();
        then.setName("then");
        then.addOutput(thenBody.apply(then, r));
        Graph otherwise = new Graph();
        otherwise.setName("else");
        Node neg = new Node("", "Neg", List.of(r), List.of(new Value("neg_out")), List.of());
        otherwise.addNode(neg);
        otherwise.addOutput(neg.output(0));
        Value out = new Value("y");
        b.graph().addNode(new Node("", "If", List.of(cond), List.of(out),
                List.of(Attribute.ofGraph("then_branch", then), Attribute.ofGraph("else_branch", otherwise))));
        b.output(out);
        return b.build();
    }

    private static Value add(Graph g, String op, Value in, String outName) {
        Node n = new Node("", op, List.of(in), List.of(new Value(outName)), List.of());
        g.addNode(n);
        return n.output(0);
    }

    @Test
    void removesAnIdentityInsideASubgraph() {
        Model model = withIf((g, r) -> add(g, "Identity", add(g, "Sigmoid", r, "s"), "then_out"));
        Model before = model.copy();

        PassResult result = PassTesting.run(new EliminatePass(), model);

        assertEquals(Map.of("Identity", 1), result.counts());
        assertFalse(ops(model).containsKey("Identity"));
        Map<String, Tensor> feeds = new java.util.HashMap<>(PassTesting.randomFeeds(before, 3, 2));
        feeds.put("cond", Tensor.ofIntegers("cond", DataType.BOOL, new long[0], 1));
        PassTesting.assertSameOutputs(before, model, feeds, RTOL, ATOL);
    }

    @Test
    void keepsAnIdentityThatReturnsAnOuterValueFromASubgraph() {
        // ONNX Runtime rejects a body returning an outer-scope value directly
        Model model = withIf((g, r) -> add(g, "Identity", r, "then_out"));
        assertUnchanged(model);
        Map<String, Tensor> feeds = new java.util.HashMap<>(PassTesting.randomFeeds(model, 3, 2));
        feeds.put("cond", Tensor.ofIntegers("cond", DataType.BOOL, new long[0], 1));
        PassTesting.assertSameOutputs(model, model.copy(), feeds, RTOL, ATOL);
    }

    // ---- the whole pass ----

    @Test
    void isIdempotentOnAModelWithEveryRule() {
        GraphBuilder b = new GraphBuilder(17, 5);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 6);
        Value v = b.op("Identity", b.op("Relu", x));
        v = b.op("Dropout", v);
        v = b.node("Cast", v).attr("to", DataType.FLOAT.code()).value();
        v = b.op("Reshape", v, longs(b, "same", 0, 4, -1));
        v = b.op("Reshape", b.op("Reshape", v, longs(b, "flat", 0, 24)), longs(b, "back", 0, 6, 4));
        v = b.op("Transpose", b.node("Transpose", v).ints("perm", 0, 2, 1).value());
        v = b.op("Slice", v, longs(b, "starts", 0), longs(b, "ends", TO_THE_END), longs(b, "axes", 2));
        v = b.op("Pad", b.node("Concat", v).attr("axis", 1L).value(), longs(b, "pads", 0, 0, 0, 0, 0, 0));
        v = b.op("Expand", v, longs(b, "ones", 1, 1));
        b.output(b.op("Identity", v));
        Model model = b.build();
        Model before = model.copy();

        PassResult first = PassTesting.assertIdempotent(new EliminatePass(), model);

        assertTrue(first.changed());
        assertEquals(Map.of("Relu", 1, "Reshape", 1, "Transpose", 1), ops(model), first.summary());
        PassTesting.assertSameOutputs(before, model, RTOL, ATOL);
        assertEquals(outputNames(before), outputNames(model));
    }

    @ParameterizedTest
    @ValueSource(strings = {"vit", "efficientvit"})
    void removesNoOpsPlantedInReferenceModelsAndKeepsTheirOutputs(String name) throws Exception {
        Model model = OnnxReader.read(Path.of("../reference-models/models/" + name + ".onnx"));
        Map<String, Integer> original = ops(model);
        Model untouched = model.copy();
        Map<String, Integer> planted = plantNoOps(model);
        Model before = model.copy();
        assertTrue(planted.get("Reshape") > 10 && planted.get("Identity") > 10, planted.toString());

        PassResult result = PassTesting.assertIdempotent(new EliminatePass(), model);

        assertEquals(planted, result.counts());
        assertEquals(original, ops(model));
        assertEquals(outputNames(untouched), outputNames(model));
        PassTesting.assertSameOutputs(before, model, RTOL, ATOL);
        PassTesting.assertSameOutputs(untouched, model, RTOL, ATOL);
    }

    /**
     * Puts a {@code Reshape(v, [0, ..., 0])} (each 0 copies its dim, so nothing changes) after every
     * MatMul and Conv output and an Identity after every Add output, where inference knows the rank
     * and the value is not a graph output.
     *
     * @return how many of each were planted
     */
    private static Map<String, Integer> plantNoOps(Model model) {
        InferenceResult types = ShapeInference.infer(model);
        Graph g = model.graph();
        Map<String, Integer> planted = new TreeMap<>();
        for (Node n : List.copyOf(g.nodes())) {
            Value out = n.output(0);
            Shape shape = types.shapeOf(out);
            if (out.isGraphOutput() || shape == null || shape.rank() == 0) {
                continue;
            }
            List<Use> uses = List.copyOf(out.uses());
            Value copy = new Value(g.names().fresh(out.name() + "_planted"));
            Node noOp;
            if (n.is("MatMul") || n.is("Conv")) {
                Value zeros = GraphEdits.addConstant(g, "zeros", Tensor.ofLongs("zeros", new long[] {shape.rank()},
                        new long[shape.rank()]));
                noOp = new Node("", "Reshape", List.of(out, zeros), List.of(copy), List.of());
            } else if (n.is("Add")) {
                noOp = new Node("", "Identity", List.of(out), List.of(copy), List.of());
            } else {
                continue;
            }
            g.insertAfter(n, noOp);
            for (Use u : uses) {
                u.node().setInput(u.inputIndex(), copy);
            }
            planted.merge(noOp.opType(), 1, Integer::sum);
        }
        return planted;
    }
}
