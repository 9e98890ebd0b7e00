package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The distillation loss {@code α·CE + (1 - α)·KL(T)} against the textbook formulas written out
 * here in double, over {@code Identity(z)} with the logits as the weight (as in {@link LossTest}).
 */
class WeightedSumLossTest {
    private static final double[] Z = {1, 2, 3, 0.5, -1, 2};
    private static final double[] TEACHER = {0.2, 1.5, -0.3, 2.5, 0, 1};
    private static final long[] LABELS = {2, 0};
    private static final long[] DIMS = {2, 3};

    @Test
    void distillationIsTheWeightedSumOfCrossEntropyAndKl() {
        double alpha = 0.3;
        double t = 2;
        GraphBuilder b = new GraphBuilder(17);
        Value z = b.initializer(GradientCheck.tensorOf(DataType.DOUBLE, "z", DIMS, Z));
        Value y = b.op("Identity", z);
        b.output(y);
        Model m = b.build();
        GradientModel gm = new GradientBuilder().build(m, GradientSpec.of(Loss.distillation(alpha, t), y.name()));
        assertEquals(2, gm.referenceInputs().size(), "labels, then teacher logits: " + gm.referenceInputs());
        Map<String, Tensor> feeds = new LinkedHashMap<>(gm.initialWeights());
        feeds.put(gm.referenceInputs().get(0), Tensor.ofLongs("labels", new long[] {2}, LABELS));
        feeds.put(gm.referenceInputs().get(1), GradientCheck.tensorOf(DataType.DOUBLE, "t", DIMS, TEACHER));
        double loss;
        double[] grad;
        try (ModelRunner r = ModelRunner.open(gm.model(), RunOptions.reference())) {
            Map<String, Tensor> out = r.run(feeds);
            loss = out.get(gm.lossOutput()).toDoubleArray()[0];
            grad = out.get(gm.weight("z").gradient()).toDoubleArray();
        }

        double expectedLoss = 0;
        double[] expectedGrad = new double[6];
        for (int n = 0; n < 2; n++) {
            double[] p = LossTest.softmax(Z, n * 3, 3, 1);
            double[] ps = LossTest.softmax(Z, n * 3, 3, t);
            double[] pt = LossTest.softmax(TEACHER, n * 3, 3, t);
            for (int c = 0; c < 3; c++) {
                double q = LABELS[n] == c ? 1 : 0;
                expectedLoss += alpha * -q * Math.log(p[c]) / 2;
                expectedLoss += (1 - alpha) * t * t * pt[c] * (Math.log(pt[c]) - Math.log(ps[c])) / 2;
                expectedGrad[n * 3 + c] = alpha * (p[c] - q) / 2 + (1 - alpha) * t * (ps[c] - pt[c]) / 2;
            }
        }
        assertEquals(expectedLoss, loss, 1e-12);
        for (int i = 0; i < 6; i++) {
            assertEquals(expectedGrad[i], grad[i], 1e-12, "dz[" + i + "]");
        }
    }

    @Test
    void weightsAndTermsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> Loss.distillation(0, 2));
        assertThrows(IllegalArgumentException.class, () -> Loss.distillation(1, 2));
        assertThrows(IllegalArgumentException.class, () -> Loss.distillation(0.5, 0));
        assertThrows(IllegalArgumentException.class, () -> new Loss.WeightedSum(List.of()));
        assertThrows(IllegalArgumentException.class, () -> new Loss.WeightedSum.Term(-1, Loss.crossEntropy()));
    }
}
