package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Finite-difference checks of ReduceSum and ReduceMean; the reduced value is weighted by a second weight. */
class ReductionRulesTest {
    private static final DataType D = DataType.DOUBLE;

    @ParameterizedTest
    @ValueSource(longs = {0, 1})
    void reduceSumOverTwoAxes(long keepdims) {
        GradientCheck c = new GradientCheck(D, 71);
        Value y = c.b().node("ReduceSum", c.weight("x", 2, 3, 4), c.longs("axes", 0, -1)).attr("keepdims", keepdims).value();
        c.check(c.op("Mul", y, c.weight("w", 3, 1)));
    }

    @Test
    void reduceSumOverEverything() {
        GradientCheck c = new GradientCheck(D, 72);
        Value y = c.b().node("ReduceSum", c.weight("x", 2, 3)).attr("keepdims", 0L).value();
        c.check(c.op("Mul", y, c.weight("w", 2)));
    }

    @ParameterizedTest
    @ValueSource(longs = {0, 1})
    void reduceMeanOverTheLastAxis(long keepdims) {
        GradientCheck c = new GradientCheck(D, 73);
        Value y = c.b().node("ReduceMean", c.weight("x", 2, 3, 4)).ints("axes", -1).attr("keepdims", keepdims).value();
        c.check(c.op("Mul", y, keepdims == 1 ? c.weight("w", 3, 1) : c.weight("w", 3)));
    }

    @Test
    void reduceMeanOverADynamicAxis() {
        GradientCheck c = new GradientCheck(D, 74);
        Value x = c.dynamicInput("x", new long[] {5, 3}, "n", 3);
        Value h = c.op("Mul", x, c.weight("a", 3));
        Value y = c.b().node("ReduceMean", h).ints("axes", 0).attr("keepdims", 0L).value();
        c.check(c.op("Mul", y, c.weight("w", 3)));
    }
}
