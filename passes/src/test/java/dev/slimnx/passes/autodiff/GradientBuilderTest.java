package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The builder's contract: what it refuses, what it leaves alone, and the gradient model's signature. */
class GradientBuilderTest {
    private static final DataType D = DataType.DOUBLE;

    private static long count(Model m, String opType) {
        return m.graph().nodes().stream().filter(n -> n.is(opType)).count();
    }

    private static List<String> names(List<Value> values) {
        return values.stream().map(Value::name).toList();
    }

    @Test
    void opsWithoutARuleFailUpFrontNamingEveryOpType() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value w = b.initializer(b.randomFloats("w", 2, 3));
        Value h = b.op("Sin", b.op("Exp", b.op("Mul", x, w)));
        b.output(b.op("Cos", b.op("Sin", h)));
        Model m = b.build();
        AtomicInteger emitted = new AtomicInteger();
        BackwardRules spy = BackwardRules.standard().with("Exp", ctx -> emitted.incrementAndGet());
        NotDifferentiableException e = assertThrows(NotDifferentiableException.class,
                () -> new GradientBuilder(spy).build(m, GradientSpec.of(Loss.meanSquaredError(), "cos_out0")));
        assertEquals("cannot differentiate the model: no backward rule for Cos (1 node), Sin (2 nodes)", e.getMessage());
        assertEquals(Map.of("Cos", 1, "Sin", 2), e.missingOpTypes());
        assertEquals(0, emitted.get(), "no rule ran before the refusal");
    }

    @Test
    void aRuleRefusingANodeIsNamedWithItsReason() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 4, 3);
        Value starts = b.input("starts", DataType.INT64, 1);
        Value w = b.initializer(b.randomFloats("w", 4, 3));
        b.output(b.node("Slice", b.op("Mul", x, w), starts, b.initializer(Tensor.ofLongs("ends", new long[] {1}, 3)))
                .name("cut").value());
        NotDifferentiableException e = assertThrows(NotDifferentiableException.class,
                () -> new GradientBuilder().build(b.build(), GradientSpec.of(Loss.meanSquaredError(), "cut_out0")));
        assertEquals("cannot differentiate the model: Slice 'cut': starts, ends, axes and steps must be known at build time",
                e.getMessage());
        assertTrue(e.missingOpTypes().isEmpty());
    }

    @Test
    void integerPathsAndInputsWithoutWeightsGetNoBackwardNodes() {
        // y = x @ w + Cast(Shape(w)[1]): the shape path and x need no gradient
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value w = b.initializer(b.randomFloats("w", 3, 4));
        Value one = b.initializer(Tensor.ofLongs("one", new long[0], 1));
        Value shape = b.node("Shape", w).name("shape_of_w").value();
        Value size = b.node("Cast", b.node("Gather", shape, one).name("pick").value())
                .attr("to", (long) DataType.FLOAT.code()).name("as_float").value();
        Value y = b.op("Add", b.op("MatMul", x, w), size);
        b.output(y);
        Model m = b.build();
        GradientModel gm = new GradientBuilder().build(m, GradientSpec.of(Loss.meanSquaredError(), y.name()));
        assertEquals(List.of("w"), gm.weights().stream().map(GradientModel.WeightGradient::weight).toList(),
                "the INT64 initializer is not a weight");
        Model g = gm.model();
        assertTrue(g.graph().nodes().stream().noneMatch(n -> n.name().startsWith("grad/shape_of_w")
                || n.name().startsWith("grad/as_float") || n.name().startsWith("grad/pick")));
        assertEquals(2, count(g, "MatMul"), "the forward MatMul and dw = xᵀ·g; no dx");
        assertEquals(1, count(g, "Shape"), "only the forward Shape");
    }

    @Test
    void inputsARuleTreatsAsConstantsAreNotWeightsAndGetZerosWhenNamed() {
        // BatchNormalization's running statistics: not differentiated by default; named, zeros
        GraphBuilder b = new GraphBuilder(17, 5);
        Value x = b.input("x", DataType.FLOAT, 2, 3, 4);
        Value scale = b.initializer(b.randomFloats("scale", 3));
        Value bias = b.initializer(b.randomFloats("bias", 3));
        Value mean = b.initializer(b.randomFloats("mean", 3));
        Value var = b.initializer(Tensor.ofFloats("var", new long[] {3}, 1f, 2f, 0.5f));
        Value y = b.node("BatchNormalization", x, scale, bias, mean, var).name("bn").value();
        b.output(y);
        Model m = b.build();
        GradientModel all = new GradientBuilder().build(m, GradientSpec.of(Loss.meanSquaredError(), y.name()));
        assertEquals(List.of("scale", "bias"), all.weights().stream().map(GradientModel.WeightGradient::weight).toList());

        GradientModel named = new GradientBuilder().build(m, GradientSpec.of(Loss.meanSquaredError(), y.name())
                .withWeights(List.of("scale", "mean")));
        Map<String, Tensor> feeds = new LinkedHashMap<>(named.initialWeights());
        feeds.put("x", b.randomFloats("x", 2, 3, 4));
        feeds.put(named.referenceInputs().get(0), b.randomFloats("t", 2, 3, 4));
        try (ModelRunner r = ModelRunner.open(named.model(), RunOptions.reference())) {
            Map<String, Tensor> out = r.run(feeds);
            assertArrayEquals(new float[3], out.get(named.weight("mean").gradient()).toFloatArray());
            assertTrue(Math.abs(out.get(named.weight("scale").gradient()).toFloatArray()[0]) > 0);
        }
    }

    @Test
    void theForwardModelIsNotChanged() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value w = b.initializer(b.randomFloats("w", 4, 3));
        Value bias = b.initializer(b.randomFloats("bias", 3));
        Value y = b.op("Add", b.op("MatMul", x, w), bias);
        b.output(b.node("Softmax", y).attr("axis", -1L).value());
        Model m = b.build();
        byte[] before = OnnxWriter.toBytes(m);
        GradientModel gm = new GradientBuilder().build(m, GradientSpec.of(Loss.crossEntropy(), y.name()));
        assertArrayEquals(before, OnnxWriter.toBytes(m));
        assertTrue(m.graph().initializer("w") != null && !m.graph().initializer("w").isGraphInput());
        assertTrue(gm.model().graph() != m.graph());
    }

    @Test
    void aValueWithSeveralUsesSumsItsGradients() {
        GradientCheck c = new GradientCheck(D, 91);
        Value w = c.weight("w", 2, 3);
        Value x = c.input("x", 2, 3);
        Value y = c.op("Add", c.op("Mul", w, w), c.op("Mul", c.op("Exp", w), x));
        GradientCheck.Result r = c.check(y);
        Node sum = r.gradients().model().graph().nodes().stream().filter(n -> n.is("Sum")).findFirst().orElseThrow();
        assertEquals(3, sum.inputs().size(), "w is read three times");
    }

    @Test
    void theSignatureIsInputsReferenceWeightsThenLossAndGradients() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value w1 = b.initializer(b.randomFloats("w1", 4, 4));
        Value w2 = b.initializer(b.randomFloats("w2", 4, 3));
        Value h = b.node("Relu", b.op("MatMul", x, w1)).name("hidden").value();
        Value y = b.op("MatMul", h, w2);
        b.output(y);
        Model m = b.build();
        GradientModel gm = new GradientBuilder().build(m, GradientSpec.of(Loss.crossEntropy(), y.name())
                .withWeights(List.of("w2")).withValues(List.of(h.name())).withForwardOutputs(true));
        Model g = gm.model();
        assertEquals(List.of("x", "labels", "w2"), names(g.graph().inputs()));
        assertEquals(List.of("loss", "w2_grad", h.name() + "_grad", y.name()), names(g.graph().outputs()));
        assertEquals(List.of("labels"), gm.referenceInputs());
        assertEquals(Map.of(h.name(), h.name() + "_grad"), gm.valueGradients());
        assertEquals(List.of(y.name()), gm.forwardOutputs());
        assertTrue(g.graph().initializer("w1") != null, "a weight not chosen stays an initializer");
        assertTrue(g.graph().initializer("w2") == null);
        GradientModel.WeightGradient e = gm.weight("w2");
        assertEquals(new GradientModel.WeightGradient("w2", "w2", "w2_grad", w2.initializer()), e);
        assertArrayEquals(new long[] {4, 3}, g.graph().outputs().get(1).shape().sizes());

        // the value's gradient is dL/dy · w2ᵀ, checked against the same product computed here
        Map<String, Tensor> feeds = new LinkedHashMap<>(gm.initialWeights());
        feeds.put("x", b.randomFloats("x", 2, 4));
        feeds.put("labels", Tensor.ofLongs("labels", new long[] {2}, 2, 0));
        try (ModelRunner r = ModelRunner.open(g, RunOptions.reference())) {
            Map<String, Tensor> out = r.run(feeds);
            float[] logits = out.get(y.name()).toFloatArray();
            float[] dh = out.get(h.name() + "_grad").toFloatArray();
            float[] w = w2.initializer().toFloatArray();
            long[] labels = {2, 0};
            for (int n = 0; n < 2; n++) {
                double[] p = LossTest.softmax(logits, n * 3, 3);
                for (int k = 0; k < 4; k++) {
                    double expected = 0;
                    for (int j = 0; j < 3; j++) {
                        expected += (p[j] - (labels[n] == j ? 1 : 0)) / 2 * w[k * 3 + j];
                    }
                    assertEquals(expected, dh[n * 4 + k], 1e-6);
                }
            }
        }
    }

    @Test
    void unknownNamesAreRefusedWithWhatExists() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value w = b.initializer(b.randomFloats("w", 2, 3));
        Value y = b.op("Mul", x, w);
        b.output(y);
        Model m = b.build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new GradientBuilder()
                .build(m, GradientSpec.of(Loss.meanSquaredError(), y.name()).withWeights(List.of("v"))));
        assertEquals("'v' is not a FLOAT or DOUBLE initializer; no value has that name; the float initializers are [w]",
                e.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> new GradientBuilder().build(m, GradientSpec.of(Loss.meanSquaredError(), "nope")));
        IllegalArgumentException rank = assertThrows(IllegalArgumentException.class,
                () -> new GradientBuilder().build(m, GradientSpec.of(Loss.crossEntropy(), y.name()).withWeights(List.of("w"))
                        .withValues(List.of("x"))));
        assertFalse(rank.getMessage().isEmpty());
    }

    @Test
    void opsetsBefore13AreRefused() {
        GraphBuilder b = new GraphBuilder(12);
        Value x = b.input("x", DataType.FLOAT, 2, 3);
        Value y = b.op("Mul", x, b.initializer(b.randomFloats("w", 2, 3)));
        b.output(y);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new GradientBuilder().build(b.build(), GradientSpec.of(Loss.meanSquaredError(), y.name())));
        assertEquals("the gradient builder needs default-domain opset 13 or more; the model imports 12", e.getMessage());
    }

    @Test
    void theHarnessCatchesAWrongRule() {
        // Exp's gradient is g·y; a rule passing g on unchanged must fail the finite-difference check
        BackwardRules wrong = BackwardRules.standard().with("Exp", ctx -> ctx.addInputGrad(0, ctx.outputGrad(0)));
        GradientCheck c = new GradientCheck(D, 92).withRules(wrong);
        Value y = c.op("Exp", c.weight("x", 2, 3));
        AssertionError e = assertThrows(AssertionError.class, () -> c.check(y));
        assertTrue(e.getMessage().startsWith("d loss / d x["), e.getMessage());
    }
}
