package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Finite-difference checks of the elementwise rules, one per op, in double where ONNX Runtime's CPU
 * provider has double kernels for every op of the forward and backward graph (Erf has only float).
 */
class ElementwiseRulesTest {
    private static final DataType D = DataType.DOUBLE;

    /** Checks {@code op(a, b)} for weights of the two shapes (broadcast against each other). */
    private static void binary(String op, long[] a, long[] b) {
        GradientCheck c = new GradientCheck(D, 11);
        Value x = c.weight("a", a);
        Value y = c.weight("b", b);
        GradientCheck.Result r = c.check(c.op(op, x, y));
        assertTrue(r.entriesChecked() > 0);
    }

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul"})
    void binaryOpsOfEqualShapes(String op) {
        binary(op, new long[] {2, 3}, new long[] {2, 3});
    }

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div"})
    void binaryOpsBroadcastATrailingVector(String op) {
        binary(op, new long[] {2, 3, 4}, new long[] {4});
    }

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div"})
    void binaryOpsBroadcastSizeOneAxes(String op) {
        binary(op, new long[] {2, 3, 4}, new long[] {1, 3, 1});
    }

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Sub", "Mul", "Div"})
    void binaryOpsBroadcastAScalar(String op) {
        binary(op, new long[] {2, 3, 4}, new long[] {});
    }

    @ParameterizedTest
    @ValueSource(strings = {"Add", "Mul"})
    void binaryOpsBroadcastBothWays(String op) {
        binary(op, new long[] {3, 1}, new long[] {1, 4});
    }

    @Test
    void broadcastDecidedAtRunTime() {
        // [a, 4] + [b, 4]: the output's first dim is unknown until run time (a = 3, b = 1 here), so the
        // axes to sum for the second operand are computed from the shapes then
        GradientCheck c = new GradientCheck(D, 26);
        Value h1 = c.op("Mul", c.dynamicInput("x1", new long[] {3, 1}, "a", 1), c.weight("w1", 1, 4));
        Value h2 = c.op("Mul", c.dynamicInput("x2", new long[] {1, 1}, "b", 1), c.weight("w2", 1, 4));
        GradientCheck.Result r = c.check(c.op("Add", h1, h2));
        assertTrue(r.gradients().model().graph().nodes().stream().anyMatch(n -> n.is("NonZero")));
    }

    @Test
    void div() {
        GradientCheck c = new GradientCheck(D, 12);
        Value a = c.weight("a", 2, 3);
        Value b = c.weight("b", c.uniform(new long[] {2, 3}, 0.5, 2), 2, 3);
        c.check(c.op("Div", a, b));
    }

    @Test
    void neg() {
        GradientCheck c = new GradientCheck(D, 13);
        c.check(c.op("Neg", c.weight("x", 2, 3)));
    }

    @Test
    void powWithConstantExponent() {
        GradientCheck c = new GradientCheck(D, 14);
        // a Constant node, not an initializer: a float initializer exponent would be a weight too
        Value x = c.weight("x", c.uniform(new long[] {2, 3}, 0.5, 2), 2, 3);
        GradientCheck.Result r = c.check(c.op("Pow", x, constantNode(c, 3.0)));
        assertTrue(r.gradients().weights().size() == 1);
    }

    @Test
    void powWithIntegerExponent() {
        GradientCheck c = new GradientCheck(D, 15);
        Value x = c.weight("x", 2, 3);
        c.check(c.op("Pow", x, c.longs("two", new long[0], 2)));
    }

    @Test
    void powGeneral() {
        GradientCheck c = new GradientCheck(D, 16);
        Value x = c.weight("x", c.uniform(new long[] {2, 3}, 0.5, 2), 2, 3);
        Value p = c.weight("p", c.uniform(new long[] {3}, -1.5, 1.5), 3);
        c.check(c.op("Pow", x, p));
    }

    @Test
    void sqrt() {
        GradientCheck c = new GradientCheck(D, 17);
        c.check(c.op("Sqrt", c.weight("x", c.uniform(new long[] {2, 3}, 0.5, 2), 2, 3)));
    }

    @Test
    void exp() {
        GradientCheck c = new GradientCheck(D, 18);
        c.check(c.op("Exp", c.weight("x", 2, 3)));
    }

    @Test
    void log() {
        GradientCheck c = new GradientCheck(D, 19);
        c.check(c.op("Log", c.weight("x", c.uniform(new long[] {2, 3}, 0.5, 2), 2, 3)));
    }

    @Test
    void erfInFloat() {
        GradientCheck c = new GradientCheck(DataType.FLOAT, 20);
        c.check(c.op("Erf", c.weight("x", c.uniform(new long[] {2, 5}, -2, 2), 2, 5)));
    }

    @Test
    void tanh() {
        GradientCheck c = new GradientCheck(D, 21);
        c.check(c.op("Tanh", c.weight("x", c.uniform(new long[] {2, 3}, -2, 2), 2, 3)));
    }

    @Test
    void sigmoid() {
        GradientCheck c = new GradientCheck(D, 22);
        c.check(c.op("Sigmoid", c.weight("x", c.uniform(new long[] {2, 3}, -3, 3), 2, 3)));
    }

    @Test
    void reluAwayFromTheKink() {
        GradientCheck c = new GradientCheck(D, 23);
        double[] v = {-1.5, -0.25, 0.5, 2, -0.75, 1};
        c.check(c.op("Relu", c.weight("x", v, 2, 3)));
    }

    @Test
    void whereWithAConstantCondition() {
        GradientCheck c = new GradientCheck(D, 24);
        Value cond = c.b().initializer(dev.slimnx.graph.tensor.Tensor.ofIntegers("cond", DataType.BOOL,
                new long[] {3, 1}, 1, 0, 1));
        Value a = c.weight("a", 3, 4);
        Value b = c.weight("b", 4);
        c.check(c.op("Where", cond, a, b));
    }

    @Test
    void clipPassesTheGradientBetweenItsBounds() {
        GradientCheck c = new GradientCheck(D, 27);
        double[] v = {-1.5, -0.25, 0.5, 2, -0.75, 0.1};
        GradientCheck.Result r = c.check(c.op("Clip", c.weight("x", v, 2, 3), constantNode(c, -0.5),
                constantNode(c, 0.8)));
        assertTrue(r.gradients().weights().size() == 1);
    }

    @Test
    void clipWithDifferentiatedBounds() {
        // each element's gradient goes to x, to the lower bound or to the upper one
        GradientCheck c = new GradientCheck(D, 28);
        double[] v = {-1.5, -0.25, 0.5, 2, -0.75, 0.1};
        c.check(c.op("Clip", c.weight("x", v, 2, 3), c.weight("lo", new double[] {-0.5}),
                c.weight("hi", new double[] {0.8})));
    }

    @Test
    void clipWithOnlyAnUpperBound() {
        GradientCheck c = new GradientCheck(D, 29);
        double[] v = {-1.5, -0.25, 0.5, 2, -0.75, 0.1};
        c.check(c.op("Clip", c.weight("x", v, 2, 3), null, constantNode(c, 0.3)));
    }

    @Test
    void gelu() {
        // the exported Erf GELU: x * (erf(x / √2) + 1) * 0.5, with x used twice, differentiated as
        // one chain: no Erf in the backward graph, and no Sum of x's two gradients
        GradientCheck c = new GradientCheck(DataType.FLOAT, 25);
        Value x = c.weight("x", c.uniform(new long[] {2, 4}, -2, 2), 2, 4);
        Value erf = c.op("Erf", c.op("Div", x, constantNode(c, Math.sqrt(2))));
        Value y = c.op("Mul", c.op("Mul", x, c.op("Add", erf, constantNode(c, 1))), constantNode(c, 0.5));
        GradientCheck.Result r = c.check(y);
        long erfs = r.gradients().model().graph().nodes().stream().filter(n -> n.is("Erf") || n.is("Sum")).count();
        assertEquals(1, erfs, "the forward Erf only");
    }

    @Test
    void geluChainWithAnInnerValueReadElsewhereKeepsItsRules() {
        // erf(x/√2) also feeds a second output: the chain is not fused, each node has its rule
        GradientCheck c = new GradientCheck(DataType.FLOAT, 30);
        Value x = c.weight("x", c.uniform(new long[] {2, 4}, -2, 2), 2, 4);
        Value erf = c.op("Erf", c.op("Div", x, constantNode(c, Math.sqrt(2))));
        Value y = c.op("Mul", c.op("Mul", x, c.op("Add", erf, constantNode(c, 1))), constantNode(c, 0.5));
        GradientCheck.Result r = c.check(y, c.op("Mul", erf, c.weight("w", 2, 4)));
        assertTrue(r.gradients().model().graph().nodes().stream().anyMatch(n -> n.is("Sum")));
    }

    @Test
    void geluWithOtherConstants() {
        // y = 0.75·x·(0.5 + erf(x / 1.3)): the fused gradient holds for any k, b and s
        GradientCheck c = new GradientCheck(DataType.FLOAT, 31);
        Value x = c.weight("x", c.uniform(new long[] {3, 4}, -2, 2), 3, 4);
        Value erf = c.op("Erf", c.op("Div", x, constantNode(c, 1.3)));
        Value y = c.op("Mul", constantNode(c, 0.75), c.op("Mul", c.op("Add", constantNode(c, 0.5), erf), x));
        c.check(y);
    }

    /** A PyTorch-style Constant node (not a weight) holding a scalar of the type under test. */
    static Value constantNode(GradientCheck c, double value) {
        return c.b().node("Constant").attr(dev.slimnx.graph.Attribute.ofTensor("value",
                c.tensor("c", new long[0], new double[] {value}))).value();
    }
}
