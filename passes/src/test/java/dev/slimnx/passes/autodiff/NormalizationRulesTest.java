package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Finite-difference checks of Softmax (any axis) and LayerNormalization (opset 17). */
class NormalizationRulesTest {
    private static final DataType D = DataType.DOUBLE;

    @ParameterizedTest
    @ValueSource(longs = {-1, 0, 1})
    void softmaxAlongEachAxis(long axis) {
        GradientCheck c = new GradientCheck(D, 81);
        Value y = c.b().node("Softmax", c.weight("x", c.uniform(new long[] {3, 4, 2}, -2, 2), 3, 4, 2))
                .attr("axis", axis).value();
        c.check(c.op("Mul", y, c.weight("w", 3, 4, 2)));
    }

    @ParameterizedTest
    @ValueSource(longs = {-1, 1})
    void layerNormalizationWithScaleAndBias(long axis) {
        GradientCheck c = new GradientCheck(D, 82);
        long[] normalized = axis == -1 ? new long[] {4} : new long[] {3, 4};
        Value y = c.b().node("LayerNormalization", c.weight("x", c.uniform(new long[] {2, 3, 4}, -2, 2), 2, 3, 4),
                c.weight("scale", normalized), c.weight("bias", normalized)).attr("axis", axis).attr("epsilon", 1e-5f)
                .value();
        c.check(c.op("Mul", y, c.weight("w", 2, 3, 4)));
    }

    @Test
    void layerNormalizationWithoutBiasInFloat() {
        GradientCheck c = new GradientCheck(DataType.FLOAT, 83);
        Value y = c.b().node("LayerNormalization", c.weight("x", c.uniform(new long[] {3, 8}, -2, 2), 3, 8),
                c.weight("scale", 8)).value();
        c.check(c.op("Mul", y, c.weight("w", 3, 8)));
    }
}
