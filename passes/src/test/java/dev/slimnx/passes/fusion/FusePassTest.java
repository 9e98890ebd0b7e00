package dev.slimnx.passes.fusion;

import static dev.slimnx.passes.testing.PassTesting.ATOL;
import static dev.slimnx.passes.testing.PassTesting.RTOL;
import static dev.slimnx.passes.testing.PassTesting.assertIdempotent;
import static dev.slimnx.passes.testing.PassTesting.assertSameOutputs;
import static dev.slimnx.passes.testing.PassTesting.assertUnchanged;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

class FusePassTest {
    private static final long SEED = 7;

    // ---- shared helpers ----

    private static long count(Model m, String opType) {
        return m.graph().nodes().stream().filter(n -> n.is(opType)).count();
    }

    private static Node only(Model m, String opType) {
        List<Node> found = m.graph().nodes().stream().filter(n -> n.is(opType)).toList();
        assertEquals(1, found.size(), "one " + opType);
        return found.get(0);
    }

    private static List<String> outputNames(Model m) {
        return m.graph().outputs().stream().map(Value::name).toList();
    }

    /** Runs the pass; checks it counted one rewrite of {@code kind}, kept output names and outputs. */
    private static PassResult assertFusedOnce(Model model, String kind) {
        Model before = model.copy();
        List<String> names = outputNames(model);
        PassResult result = PassTesting.run(new FusePass(), model);
        assertEquals(Map.of(kind, 1), result.counts(), result.summary());
        assertTrue(result.changed());
        assertEquals(names, outputNames(model), "graph-output names survive");
        assertSameOutputs(before, model, RTOL, ATOL);
        return result;
    }

    private static Value scalar(GraphBuilder b, String name, float value) {
        return b.initializer(Tensor.ofFloats(name, new long[0], value));
    }

    /** A PyTorch-style {@code Constant} node holding a float scalar. */
    private static Value constantNode(GraphBuilder b, float value) {
        return b.node("Constant").attr(Attribute.ofTensor("value", Tensor.ofFloats("c", new long[0], value))).value();
    }

    @Test
    void descriptorNamesTheLosslessPassWithoutOptions() {
        assertEquals("fuse", FusePass.DESCRIPTOR.id());
        assertTrue(FusePass.DESCRIPTOR.lossless());
        assertEquals(List.of(), FusePass.DESCRIPTOR.options());
        assertEquals("fuse", FusePass.DESCRIPTOR.create(Map.of()).id());
    }

    // ---- MatMul + Add → Gemm ----

    @Nested
    class MatMulAddToGemm {

        /** {@code Add(MatMul(a, w), c)} with w a [8, 4] constant and c a constant of dims {@code cDims}. */
        private static Model matmulAdd(Object[] aDims, long[] cDims, boolean biasFirst) {
            GraphBuilder b = new GraphBuilder(17, SEED);
            Value a = b.input("a", DataType.FLOAT, aDims);
            Value w = b.initializer(b.randomFloats("w", 8, 4));
            Value c = b.initializer(b.randomFloats("c", cDims));
            Value y = b.op("MatMul", a, w);
            b.output(biasFirst ? b.op("Add", c, y) : b.op("Add", y, c));
            return b.build();
        }

        private static long[] dims(String spec) {
            return spec.isEmpty() ? new long[0] : Arrays.stream(spec.split("x")).mapToLong(Long::parseLong).toArray();
        }

        @ParameterizedTest
        @ValueSource(strings = {"4", "1x4", "3x4", "", "1", "3x1", "1x1"})
        void fusesEveryBiasThatBroadcastsToTheOutput(String cDims) {
            Model model = matmulAdd(new Object[] {3, 8}, dims(cDims), false);
            assertFusedOnce(model, "MatMul+Add");
            Node gemm = only(model, "Gemm");
            assertEquals(List.of("a", "w", "c"), gemm.inputs().stream().map(Value::name).toList());
            assertEquals(List.of(), gemm.attributes(), "alpha = beta = 1, no transposes: the defaults");
            assertEquals(1, model.graph().nodes().size());
        }

        @Test
        void fusesABiasReadFirstWithASymbolicBatch() {
            Model model = matmulAdd(new Object[] {"batch", 8}, new long[] {4}, true);
            assertFusedOnce(model, "MatMul+Add");
            assertEquals(0, count(model, "MatMul") + count(model, "Add"));
        }

        @Test
        void fusesAWeightThatIsNotConstant() {
            GraphBuilder b = new GraphBuilder(17, SEED);
            Value a = b.input("a", DataType.FLOAT, "batch", 8);
            Value w = b.input("w", DataType.FLOAT, 8, 4);
            Value c = b.initializer(b.randomFloats("c", 4));
            b.output(b.op("Add", b.op("MatMul", a, w), c));
            assertFusedOnce(b.build(), "MatMul+Add");
        }

        @Test
        void leavesTokenMatMulsAlone() {
            assertUnchanged(new FusePass(), matmulAdd(new Object[] {"batch", 5, 8}, new long[] {4}, false));
        }

        @Test
        void leavesABiasThatIsNotConstant() {
            GraphBuilder b = new GraphBuilder(17, SEED);
            Value a = b.input("a", DataType.FLOAT, "batch", 8);
            Value c = b.input("c", DataType.FLOAT, 4);
            b.output(b.op("Add", b.op("MatMul", a, b.initializer(b.randomFloats("w", 8, 4))), c));
            assertUnchanged(new FusePass(), b.build());
        }

        @Test
        void leavesABiasThatWidensTheOutput() {
            assertUnchanged(new FusePass(), matmulAdd(new Object[] {3, 8}, new long[] {2, 3, 4}, false));
            assertUnchanged(new FusePass(), matmulAdd(new Object[] {"batch", 8}, new long[] {3, 4}, false));
        }

        @Test
        void leavesAProductReadTwice() {
            GraphBuilder b = new GraphBuilder(17, SEED);
            Value a = b.input("a", DataType.FLOAT, "batch", 8);
            Value y = b.op("MatMul", a, b.initializer(b.randomFloats("w", 8, 4)));
            b.output(b.op("Add", y, b.initializer(b.randomFloats("c", 4))));
            b.output(b.op("Relu", y));
            assertUnchanged(new FusePass(), b.build());
        }

        @Test
        void leavesAProductThatIsAGraphOutput() {
            GraphBuilder b = new GraphBuilder(17, SEED);
            Value a = b.input("a", DataType.FLOAT, "batch", 8);
            Value y = b.op("MatMul", a, b.initializer(b.randomFloats("w", 8, 4)));
            b.output(b.op("Add", y, b.initializer(b.randomFloats("c", 4))));
            b.output(y);
            assertUnchanged(new FusePass(), b.build());
        }

        @Test
        void isIdempotent() {
            Model model = matmulAdd(new Object[] {"batch", 8}, new long[] {4}, false);
            assertTrue(assertIdempotent(new FusePass(), model).changed());
        }
    }

    // ---- decomposed LayerNorm → LayerNormalization ----

    enum Tail { SCALE_AND_BIAS, SCALE, NONE }

    @Nested
    class DecomposedLayerNorm {
        private static final float EPS = 1e-5f;

        /** Options of the decomposed layer norm under test. */
        private record Spec(long opset, long axis, boolean mulSquare, float exponent, Tail tail, boolean epsConstantNode) {
            static Spec pytorch(long opset) {
                return new Spec(opset, -1, false, 2, Tail.SCALE_AND_BIAS, false);
            }

            Spec withAxis(long a) {
                return new Spec(opset, a, mulSquare, exponent, tail, epsConstantNode);
            }

            Spec withMulSquare() {
                return new Spec(opset, axis, true, exponent, tail, epsConstantNode);
            }

            Spec withExponent(float e) {
                return new Spec(opset, axis, mulSquare, e, tail, epsConstantNode);
            }

            Spec withTail(Tail t) {
                return new Spec(opset, axis, mulSquare, exponent, t, epsConstantNode);
            }

            Spec withEpsConstantNode() {
                return new Spec(opset, axis, mulSquare, exponent, tail, true);
            }
        }

        /** The values of a built layer norm, so negative tests can add readers. */
        private record Built(GraphBuilder builder, Value x, Value mean, Value d, Value normalized, Value y) {
            Model model() {
                return builder.build();
            }
        }

        private static Value reduceMean(GraphBuilder b, Value in, Spec spec) {
            if (spec.opset() >= 18) {
                Value axes = b.initializer(Tensor.ofLongs(b.graph().names().fresh("axes"), new long[] {1}, spec.axis()));
                return b.node("ReduceMean", in, axes).attr("keepdims", 1L).value();
            }
            return b.node("ReduceMean", in).ints("axes", spec.axis()).attr("keepdims", 1L).value();
        }

        /** x [batch, 5, 16] → the layer norm of {@code spec}; y is not yet a graph output. */
        private static Built build(Spec spec) {
            GraphBuilder b = new GraphBuilder(spec.opset(), SEED);
            Value x = b.input("x", DataType.FLOAT, "batch", 5, 16);
            Value mean = reduceMean(b, x, spec);
            Value d = b.op("Sub", x, mean);
            Value sq = spec.mulSquare() ? b.op("Mul", d, d) : b.op("Pow", d, scalar(b, "two", spec.exponent()));
            Value var = reduceMean(b, sq, spec);
            Value eps = spec.epsConstantNode() ? constantNode(b, EPS) : scalar(b, "eps", EPS);
            Value n = b.op("Div", d, b.op("Sqrt", b.op("Add", var, eps)));
            Value y = n;
            if (spec.tail() != Tail.NONE) {
                y = b.op("Mul", y, b.initializer(b.randomFloats("gamma", 16)));
            }
            if (spec.tail() == Tail.SCALE_AND_BIAS) {
                y = b.op("Add", b.initializer(b.randomFloats("beta", 16)), y);
            }
            return new Built(b, x, mean, d, n, y);
        }

        private static Model model(Spec spec) {
            Built built = build(spec);
            built.builder().output(built.y());
            return built.model();
        }

        private static void assertLayerNorm(Node ln, int inputs) {
            assertEquals(inputs, ln.inputs().size());
            assertEquals("x", ln.input(0).name());
            assertEquals(-1, ln.intAttr("axis", 0));
            assertEquals(EPS, ln.floatAttr("epsilon", 0));
        }

        @Test
        void fusesPyTorchsDecompositionAtOpset17() {
            Model model = model(Spec.pytorch(17));
            assertFusedOnce(model, "decomposed LayerNormalization");
            Node ln = only(model, "LayerNormalization");
            assertLayerNorm(ln, 3);
            assertEquals(List.of("gamma", "beta"), List.of(ln.input(1).name(), ln.input(2).name()));
            assertEquals(1, model.graph().nodes().size());
            assertEquals(2, model.graph().initializers().size(), "the exponent and ε are gone, γ and β stay");
        }

        @Test
        void fusesAxesGivenAsInputFromOpset18WithMulSquareAndAConstantNode() {
            Model model = model(Spec.pytorch(18).withAxis(2).withMulSquare().withEpsConstantNode());
            assertFusedOnce(model, "decomposed LayerNormalization");
            assertLayerNorm(only(model, "LayerNormalization"), 3);
            assertEquals(1, model.graph().nodes().size(), "the Constant node of ε went with the pattern");
            assertEquals(2, model.graph().initializers().size(), "both axes constants are gone");
        }

        @Test
        void fusesAtOpset20() {
            assertFusedOnce(model(Spec.pytorch(20)), "decomposed LayerNormalization");
        }

        @Test
        void fusesWithoutTailUsingOnesAsScale() {
            Model model = model(Spec.pytorch(17).withTail(Tail.NONE));
            assertFusedOnce(model, "decomposed LayerNormalization");
            Node ln = only(model, "LayerNormalization");
            assertLayerNorm(ln, 2);
            float[] ones = new float[16];
            Arrays.fill(ones, 1f);
            assertArrayEquals(ones, GraphEdits.constant(ln.input(1)).toFloatArray());
        }

        @Test
        void fusesAScaleWithoutBias() {
            Model model = model(Spec.pytorch(17).withTail(Tail.SCALE));
            assertFusedOnce(model, "decomposed LayerNormalization");
            Node ln = only(model, "LayerNormalization");
            assertLayerNorm(ln, 2);
            assertEquals("gamma", ln.input(1).name());
        }

        @Test
        void keepsAScaleThatIsNotConstantAfterTheFusedNorm() {
            Built built = build(Spec.pytorch(17).withTail(Tail.NONE));
            GraphBuilder b = built.builder();
            Value gamma = b.input("gamma", DataType.FLOAT, 16);
            b.output(b.op("Add", b.op("Mul", built.y(), gamma), b.initializer(b.randomFloats("beta", 16))));
            Model model = built.model();
            assertFusedOnce(model, "decomposed LayerNormalization");
            assertEquals(List.of("LayerNormalization", "Mul", "Add"),
                    model.graph().nodes().stream().map(Node::opType).toList());
            assertEquals(16, GraphEdits.constant(only(model, "LayerNormalization").input(1)).numElements(),
                    "a scale of ones stands in for the γ that is not constant");
        }

        @Test
        void leavesItBelowOpset17() {
            assertUnchanged(new FusePass(), model(Spec.pytorch(16)));
        }

        @Test
        void leavesANormOverAnotherAxis() {
            assertUnchanged(new FusePass(), model(Spec.pytorch(17).withAxis(1)));
            assertUnchanged(new FusePass(), model(Spec.pytorch(18).withAxis(-2)));
        }

        @Test
        void leavesAnotherExponent() {
            assertUnchanged(new FusePass(), model(Spec.pytorch(17).withExponent(3)));
        }

        @Test
        void leavesAnEpsilonThatIsNotConstant() {
            GraphBuilder b = new GraphBuilder(17, SEED);
            Value x = b.input("x", DataType.FLOAT, "batch", 16);
            Value eps = b.input("eps", DataType.FLOAT);
            Value d = b.op("Sub", x, b.node("ReduceMean", x).ints("axes", -1).attr("keepdims", 1L).value());
            Value var = b.node("ReduceMean", b.op("Mul", d, d)).ints("axes", -1).attr("keepdims", 1L).value();
            b.output(b.op("Div", d, b.op("Sqrt", b.op("Add", var, eps))));
            assertUnchanged(new FusePass(), b.build());
        }

        @Test
        void leavesADifferenceReadElsewhere() {
            Built built = build(Spec.pytorch(17));
            built.builder().output(built.y());
            built.builder().output(built.builder().op("Relu", built.d()));
            assertUnchanged(new FusePass(), built.model());
        }

        @Test
        void leavesADifferenceThatIsAGraphOutput() {
            Built built = build(Spec.pytorch(17));
            built.builder().output(built.y());
            built.builder().output(built.d());
            assertUnchanged(new FusePass(), built.model());
        }

        @Test
        void leavesAMeanReadElsewhere() {
            Built built = build(Spec.pytorch(17));
            built.builder().output(built.y());
            built.builder().output(built.builder().op("Relu", built.mean()));
            assertUnchanged(new FusePass(), built.model());
        }

        @Test
        void stopsBeforeATailWhoseInputIsAGraphOutput() {
            Built built = build(Spec.pytorch(17));
            built.builder().output(built.y());
            built.builder().output(built.normalized());
            Model model = built.model();
            assertFusedOnce(model, "decomposed LayerNormalization");
            assertEquals(List.of("LayerNormalization", "Mul", "Add"),
                    model.graph().nodes().stream().map(Node::opType).toList());
        }

        @Test
        void isIdempotent() {
            assertTrue(assertIdempotent(new FusePass(), model(Spec.pytorch(18))).changed());
        }
    }

    // ---- erf GELU → Gelu ----

    /** The orders exporters write {@code x · 0.5 · (1 + erf(x / √2))} in. */
    enum GeluForm {
        /** PyTorch: Mul(Mul(x, Add(Erf(Div(x, √2)), 1)), 0.5), constants as Constant nodes. */
        PYTORCH,
        /** TensorFlow: Mul(Mul(0.5, x), Add(1, Erf(Mul(x, 1/√2)))). */
        TENSORFLOW,
        /** Mul(x, Mul(Add(Erf(Mul(1/√2, x)), 1), 0.5)). */
        HALF_ON_SUM
    }

    @Nested
    class ErfGelu {

        private static Model gelu(long opset, GeluForm form, float one, float sqrt2) {
            GraphBuilder b = new GraphBuilder(opset, SEED);
            Value x = b.input("x", DataType.FLOAT, "batch", 6);
            b.output(gelu(b, x, x, form, one, sqrt2));
            return b.build();
        }

        /** {@code outer · 0.5 · (1 + erf(x / sqrt2))} written as {@code form}. */
        private static Value gelu(GraphBuilder b, Value x, Value outer, GeluForm form, float one, float sqrt2) {
            return switch (form) {
                case PYTORCH -> {
                    Value erf = b.op("Erf", b.op("Div", x, constantNode(b, sqrt2)));
                    Value p = b.op("Add", erf, constantNode(b, one));
                    yield b.op("Mul", b.op("Mul", outer, p), constantNode(b, 0.5f));
                }
                case TENSORFLOW -> {
                    Value erf = b.op("Erf", b.op("Mul", x, scalar(b, "rsqrt2", 1 / sqrt2)));
                    Value p = b.op("Add", scalar(b, "one", one), erf);
                    yield b.op("Mul", b.op("Mul", scalar(b, "half", 0.5f), outer), p);
                }
                case HALF_ON_SUM -> {
                    Value erf = b.op("Erf", b.op("Mul", scalar(b, "rsqrt2", 0.70710678f), x));
                    Value p = b.op("Add", erf, scalar(b, "one", one));
                    yield b.op("Mul", outer, b.op("Mul", p, scalar(b, "half", 0.5f)));
                }
            };
        }

        private static final float SQRT2 = (float) Math.sqrt(2);

        @ParameterizedTest
        @EnumSource(GeluForm.class)
        void fusesEveryOrderAtOpset20(GeluForm form) {
            Model model = gelu(20, form, 1, SQRT2);
            assertFusedOnce(model, "Erf GELU");
            Node gelu = only(model, "Gelu");
            assertEquals("x", gelu.input(0).name());
            assertEquals("none", gelu.stringAttr("approximate", "none"));
            assertEquals(1, model.graph().nodes().size(), "constants and their Constant nodes are gone");
            assertEquals(0, model.graph().initializers().size());
        }

        @Test
        void fusesAfterAnotherOpWhoseOutputIsReadElsewhere() {
            GraphBuilder b = new GraphBuilder(20, SEED);
            Value x = b.op("Relu", b.input("in", DataType.FLOAT, "batch", 3, 6));
            b.output(gelu(b, x, x, GeluForm.PYTORCH, 1, SQRT2));
            b.output(x);
            Model model = b.build();
            assertFusedOnce(model, "Erf GELU");
            assertEquals(List.of("Relu", "Gelu"), model.graph().nodes().stream().map(Node::opType).toList());
        }

        @ParameterizedTest
        @ValueSource(longs = {17, 19})
        void leavesItBelowOpset20(long opset) {
            assertUnchanged(new FusePass(), gelu(opset, GeluForm.PYTORCH, 1, SQRT2));
        }

        @Test
        void leavesOtherConstants() {
            assertUnchanged(new FusePass(), gelu(20, GeluForm.PYTORCH, 2, SQRT2));
            assertUnchanged(new FusePass(), gelu(20, GeluForm.TENSORFLOW, 1, 2));
            assertUnchanged(new FusePass(), gelu(20, GeluForm.PYTORCH, 1.0001f, SQRT2));
        }

        @Test
        void leavesAProductWithAnotherValue() {
            for (GeluForm form : GeluForm.values()) {
                GraphBuilder b = new GraphBuilder(20, SEED);
                Value x = b.input("x", DataType.FLOAT, "batch", 6);
                Value z = b.input("z", DataType.FLOAT, "batch", 6);
                b.output(gelu(b, x, z, form, 1, SQRT2));
                assertUnchanged(new FusePass(), b.build());
            }
        }

        @Test
        void leavesAnErfReadElsewhere() {
            GraphBuilder b = new GraphBuilder(20, SEED);
            Value x = b.input("x", DataType.FLOAT, "batch", 6);
            b.output(gelu(b, x, x, GeluForm.PYTORCH, 1, SQRT2));
            Node erf = b.graph().nodes().stream().filter(n -> n.is("Erf")).findFirst().orElseThrow();
            b.output(b.op("Relu", erf.output(0)));
            assertUnchanged(new FusePass(), b.build());
        }

        @Test
        void leavesAnIntermediateThatIsAGraphOutput() {
            GraphBuilder b = new GraphBuilder(20, SEED);
            Value x = b.input("x", DataType.FLOAT, "batch", 6);
            b.output(gelu(b, x, x, GeluForm.TENSORFLOW, 1, SQRT2));
            Node half = b.graph().nodes().stream().filter(n -> n.is("Mul") && n.input(1) == x).findFirst().orElseThrow();
            b.output(half.output(0));
            assertUnchanged(new FusePass(), b.build());
        }

        @Test
        void leavesConstantsWiderThanX() {
            GraphBuilder b = new GraphBuilder(20, SEED);
            Value x = b.input("x", DataType.FLOAT, "batch", 6);
            Value erf = b.op("Erf", b.op("Div", x, scalar(b, "sqrt2", SQRT2)));
            Value p = b.op("Add", erf, scalar(b, "one", 1));
            Value half = b.initializer(Tensor.ofFloats("half", new long[] {1, 1, 1}, 0.5f));
            b.output(b.op("Mul", b.op("Mul", x, p), half));
            assertUnchanged(new FusePass(), b.build());
        }

        @Test
        void isIdempotent() {
            assertTrue(assertIdempotent(new FusePass(), gelu(20, GeluForm.HALF_ON_SUM, 1, SQRT2)).changed());
        }
    }

    // ---- all three together, and the reference ViT ----

    @Test
    void fusesAnMlpBlockInOneRun() {
        GraphBuilder b = new GraphBuilder(20, SEED);
        Value in = b.input("in", DataType.FLOAT, "batch", 8);
        Value h = b.op("Add", b.op("MatMul", in, b.initializer(b.randomFloats("w", 8, 16))),
                b.initializer(b.randomFloats("c", 16)));
        Value g = ErfGelu.gelu(b, h, h, GeluForm.PYTORCH, 1, (float) Math.sqrt(2));
        Value d = b.op("Sub", g, b.node("ReduceMean", g, b.initializer(Tensor.ofLongs("axes1", new long[] {1}, -1)))
                .attr("keepdims", 1L).value());
        Value var = b.node("ReduceMean", b.op("Pow", d, scalar(b, "two", 2)),
                b.initializer(Tensor.ofLongs("axes2", new long[] {1}, 1))).attr("keepdims", 1L).value();
        Value n = b.op("Div", d, b.op("Sqrt", b.op("Add", var, scalar(b, "eps", 1e-6f))));
        b.output(b.op("Add", b.op("Mul", n, b.initializer(b.randomFloats("gamma", 16))),
                b.initializer(b.randomFloats("beta", 16))));
        Model model = b.build();
        Model before = model.copy();

        PassResult result = assertIdempotent(new FusePass(), model);
        assertEquals(Map.of("MatMul+Add", 1, "Erf GELU", 1, "decomposed LayerNormalization", 1), result.counts());
        assertEquals(List.of("Gemm", "Gelu", "LayerNormalization"),
                model.graph().nodes().stream().map(Node::opType).toList());
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    @Test
    void fusesInsideSubgraphs() {
        GraphBuilder b = new GraphBuilder(17, SEED);
        Value cond = b.input("cond", DataType.BOOL);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value w = b.initializer(b.randomFloats("w", 8, 4));
        Graph then = affineBranch("then", x, w, b.randomFloats("c_then", 4));
        Graph other = affineBranch("else", x, w, b.randomFloats("c_else", 4));
        b.output(b.node("If", cond).attr(Attribute.ofGraph("then_branch", then))
                .attr(Attribute.ofGraph("else_branch", other)).value());
        Model model = b.build();
        Model before = model.copy();

        PassResult result = assertIdempotent(new FusePass(), model);
        assertEquals(Map.of("MatMul+Add", 2), result.counts());
        for (Graph branch : List.of(then, other)) {
            assertEquals(List.of("Gemm"), branch.nodes().stream().map(Node::opType).toList());
            assertEquals(1, branch.initializers().size(), "the branch keeps its bias");
        }
        assertSameOutputs(before, model, RTOL, ATOL);
    }

    /** A branch computing {@code Add(MatMul(x, w), c)} from outer x and w and its own c. */
    private static Graph affineBranch(String name, Value x, Value w, Tensor bias) {
        Graph g = new Graph();
        g.setName(name);
        Value c = g.addInitializer(bias);
        Value y = new Value(name + "_y");
        Value out = new Value(name + "_out", ValueType.TensorType.of(DataType.FLOAT, GraphBuilder.shape("batch", 4)));
        g.addNode(new Node("", "MatMul", List.of(x, w), List.of(y), List.of()));
        g.addNode(new Node("", "Add", List.of(y, c), List.of(out), List.of()));
        g.addOutput(out);
        return g;
    }

    @Nested
    class ReferenceVit {
        private static Model vit() throws Exception {
            return OnnxReader.read(Path.of("../reference-models/models/vit.onnx"));
        }

        /** PyTorch 1.13 exported LayerNormalization itself, its MatMuls are 3-D, its GELU is Erf at opset 17. */
        @Test
        void leavesTheExportedVitAlone() throws Exception {
            assertUnchanged(new FusePass(), vit());
        }

        /** The same file imported at opset 20 (its ops mean the same there): the six Erf GELUs fuse. */
        @Test
        void fusesItsGelusAtOpset20() throws Exception {
            Model model = vit();
            model.setOpsetVersion("", 20);
            model.setIrVersion(Math.max(model.irVersion(), 9));
            long erfs = count(model, "Erf");
            assertEquals(6, erfs);
            Model before = model.copy();
            PassResult result = assertIdempotent(new FusePass(), model);
            assertEquals(Map.of("Erf GELU", 6), result.counts());
            assertEquals(0, count(model, "Erf"));
            assertEquals(6, count(model, "Gelu"));
            assertSameOutputs(before, model, RTOL, ATOL);
        }
    }
}
