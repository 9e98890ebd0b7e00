package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Each loss's value and logits gradient against a computation written out here, in double, from
 * the textbook formulas. The model is {@code Identity(z)} with the logits {@code z} as the weight,
 * so the weight's gradient is the loss's seed.
 */
class LossTest {
    private static final double[] Z = {1, 2, 3, 0.5, -1, 2};
    private static final long[] DIMS = {2, 3};

    /** Runs the loss over Identity(z) in double; returns {loss, dz...}. */
    private static double[] run(Loss loss, Tensor reference) {
        GraphBuilder b = new GraphBuilder(17);
        Value z = b.initializer(GradientCheck.tensorOf(DataType.DOUBLE, "z", DIMS, Z));
        Value y = b.op("Identity", z);
        b.output(y);
        Model m = b.build();
        GradientModel gm = new GradientBuilder().build(m, GradientSpec.of(loss, y.name()));
        Map<String, Tensor> feeds = new LinkedHashMap<>(gm.initialWeights());
        feeds.put(gm.referenceInputs().get(0), reference);
        try (ModelRunner r = ModelRunner.open(gm.model(), RunOptions.reference())) {
            Map<String, Tensor> out = r.run(feeds);
            double[] grad = out.get(gm.weight("z").gradient()).toDoubleArray();
            double[] result = new double[1 + grad.length];
            result[0] = out.get(gm.lossOutput()).toDoubleArray()[0];
            System.arraycopy(grad, 0, result, 1, grad.length);
            return result;
        }
    }

    static double[] softmax(float[] z, int offset, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = z[offset + i];
        }
        return softmax(d, 0, n, 1);
    }

    static double[] softmax(double[] z, int offset, int n, double temperature) {
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, z[offset + i] / temperature);
        }
        double sum = 0;
        double[] p = new double[n];
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp(z[offset + i] / temperature - max);
            sum += p[i];
        }
        for (int i = 0; i < n; i++) {
            p[i] /= sum;
        }
        return p;
    }

    private static void assertClose(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], 1e-12, "entry " + i + (i == 0 ? " (the loss)" : " (dz)"));
        }
    }

    private static double[] crossEntropyByHand(long[] labels, double eps) {
        double[] expected = new double[7];
        for (int n = 0; n < 2; n++) {
            double[] p = softmax(Z, n * 3, 3, 1);
            for (int c = 0; c < 3; c++) {
                double q = (1 - eps) * (labels[n] == c ? 1 : 0) + eps / 3;
                expected[0] += -q * Math.log(p[c]) / 2;
                expected[1 + n * 3 + c] = (p[c] - q) / 2;
            }
        }
        return expected;
    }

    @Test
    void crossEntropyAgainstIntegerLabels() {
        long[] labels = {2, 0};
        double[] got = run(Loss.crossEntropy(), Tensor.ofLongs("labels", new long[] {2}, labels));
        assertClose(crossEntropyByHand(labels, 0), got);
        // -log softmax([1, 2, 3])[2] and -log softmax([0.5, -1, 2])[0], averaged: the numbers themselves
        assertEquals((0.40760596444438 + 1.74131129665716) / 2, got[0], 1e-12);
    }

    @Test
    void crossEntropyWithLabelSmoothing() {
        long[] labels = {1, 2};
        double[] got = run(Loss.crossEntropy().withLabelSmoothing(0.1), Tensor.ofLongs("labels", new long[] {2}, labels));
        assertClose(crossEntropyByHand(labels, 0.1), got);
    }

    @Test
    void klDivergenceAtATemperature() {
        double t = 2;
        double[] teacher = {0.2, 1.5, -0.3, 2.5, 0, 1};
        double[] expected = new double[7];
        for (int n = 0; n < 2; n++) {
            double[] ps = softmax(Z, n * 3, 3, t);
            double[] pt = softmax(teacher, n * 3, 3, t);
            for (int c = 0; c < 3; c++) {
                expected[0] += t * t * pt[c] * (Math.log(pt[c]) - Math.log(ps[c])) / 2;
                expected[1 + n * 3 + c] = t * (ps[c] - pt[c]) / 2;
            }
        }
        assertClose(expected, run(Loss.klDivergence(t), GradientCheck.tensorOf(DataType.DOUBLE, "t", DIMS, teacher)));
    }

    @Test
    void klDivergenceOfATeacherEqualToTheStudentIsZero() {
        double[] got = run(Loss.klDivergence(4), GradientCheck.tensorOf(DataType.DOUBLE, "t", DIMS, Z));
        assertArrayEquals(new double[7], got, 1e-12);
    }

    @Test
    void meanSquaredError() {
        double[] target = {0, 1, 1, 0, 0, 3};
        double[] expected = new double[7];
        for (int i = 0; i < 6; i++) {
            double d = Z[i] - target[i];
            expected[0] += d * d / 6;
            expected[1 + i] = 2 * d / 6;
        }
        assertClose(expected, run(Loss.meanSquaredError(), GradientCheck.tensorOf(DataType.DOUBLE, "t", DIMS, target)));
    }

    @Test
    void lossParametersAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> Loss.crossEntropy().withLabelSmoothing(1));
        assertThrows(IllegalArgumentException.class, () -> Loss.klDivergence(0));
        assertThrows(IllegalArgumentException.class, () -> new Loss.MeanSquaredError(""));
    }
}
