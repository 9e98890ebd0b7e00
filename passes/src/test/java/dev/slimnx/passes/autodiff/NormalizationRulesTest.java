package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Finite-difference checks of Softmax (any axis), LayerNormalization (opset 17) and
 * BatchNormalization in inference form.
 */
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

    @Test
    void batchNormalizationInInferenceForm() {
        GradientCheck c = new GradientCheck(D, 84);
        Value x = c.weight("x", 2, 3, 4, 2);
        Value mean = c.weight("mean", 3);
        Value var = c.weight("var", c.uniform(new long[] {3}, 0.5, 2), 3);
        Value y = c.b().node("BatchNormalization", x, c.weight("scale", 3), c.weight("bias", 3), mean, var)
                .attr("epsilon", 1e-3f).value();
        GradientCheck.Result r = c.check(c.op("Mul", y, c.weight("w", 2, 3, 4, 2)));
        assertEquals(List.of("x", "scale", "bias", "w"),
                r.gradients().weights().stream().map(GradientModel.WeightGradient::weight).toList(),
                "the running mean and variance are constants, not weights");
    }

    @Test
    void batchNormalizationOfFeatureVectorsInFloat() {
        // BatchNorm1d over [N, C], as EfficientViT's classifier head has it
        GradientCheck c = new GradientCheck(DataType.FLOAT, 85);
        Value x = c.weight("x", 4, 5);
        Value y = c.b().node("BatchNormalization", x, c.weight("scale", 5), c.weight("bias", 5), c.weight("mean", 5),
                c.weight("var", c.uniform(new long[] {5}, 0.5, 2), 5)).value();
        c.check(c.op("Mul", y, c.weight("w", 4, 5)));
    }
}
