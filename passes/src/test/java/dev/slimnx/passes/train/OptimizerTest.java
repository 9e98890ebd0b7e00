package dev.slimnx.passes.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * Each optimizer's updates against the textbook formulas, written out here step by step in double
 * for two weights and two steps (and the first step's numbers worked by hand). Weights are stored
 * as float, so results agree to float precision.
 */
class OptimizerTest {
    private static final float TOL = 1e-6f;

    @Test
    void sgdWithMomentumAndL2WeightDecay() {
        Optimizer.Sgd sgd = new Optimizer.Sgd(0.9, false, 0.1);
        float[] w = {1.0f, -2.0f};
        Optimizer.State s = sgd.newState(2);
        double lr = 0.1;

        sgd.update(w, new float[] {0.5f, 0.25f}, s, lr, true);
        // g' = g + 0.1·w = (0.6, 0.05); v = g'; w - 0.1·v
        assertArrayEquals(new float[] {0.94f, -2.005f}, w, TOL);

        sgd.update(w, new float[] {-0.5f, 1.0f}, s, lr, true);
        double g0 = -0.5 + 0.1 * 0.94;
        double g1 = 1.0 + 0.1 * -2.005;
        double v0 = 0.9 * 0.6 + g0;
        double v1 = 0.9 * 0.05 + g1;
        assertArrayEquals(new float[] {(float) (0.94 - lr * v0), (float) (-2.005 - lr * v1)}, w, TOL);
        assertEquals(2, s.steps());
    }

    @Test
    void sgdWithNesterovMomentum() {
        Optimizer.Sgd sgd = new Optimizer.Sgd(0.9, true, 0);
        float[] w = {1.0f, -2.0f};
        Optimizer.State s = sgd.newState(2);
        sgd.update(w, new float[] {0.6f, 0.05f}, s, 0.1, true);
        // v = g; d = g + 0.9·v = (1.14, 0.095)
        assertArrayEquals(new float[] {0.886f, -2.0095f}, w, TOL);

        sgd.update(w, new float[] {-0.4f, 0.8f}, s, 0.1, true);
        double v0 = 0.9 * 0.6 + -0.4;
        double v1 = 0.9 * 0.05 + 0.8;
        double d0 = -0.4 + 0.9 * v0;
        double d1 = 0.8 + 0.9 * v1;
        assertArrayEquals(new float[] {(float) (0.886 - 0.1 * d0), (float) (-2.0095 - 0.1 * d1)}, w, TOL);
    }

    @Test
    void plainSgdAndNoDecayWhereExempt() {
        Optimizer.Sgd sgd = new Optimizer.Sgd(0, false, 0.5);
        float[] w = {1.0f};
        Optimizer.State s = sgd.newState(1);
        sgd.update(w, new float[] {0.25f}, s, 0.2, false);
        assertArrayEquals(new float[] {0.95f}, w, TOL, "w - 0.2·0.25, the decay exempted");
        sgd.update(w, new float[] {0.25f}, s, 0.2, true);
        assertArrayEquals(new float[] {(float) (0.95 - 0.2 * (0.25 + 0.5 * 0.95))}, w, TOL);
    }

    @Test
    void adamWWithBiasCorrectionAndDecoupledDecay() {
        double b1 = 0.9;
        double b2 = 0.999;
        double eps = 1e-8;
        double wd = 0.01;
        double lr = 0.1;
        Optimizer.AdamW adam = new Optimizer.AdamW(b1, b2, eps, wd);
        float[] w = {1.0f, 0.0f};
        Optimizer.State s = adam.newState(2);

        adam.update(w, new float[] {0.5f, -2.0f}, s, lr, true);
        // step 1: m̂ = g and v̂ = g², so the step is lr·g/|g| = ±lr, after shrinking by 1 - lr·wd
        assertArrayEquals(new float[] {0.999f - 0.1f, 0.1f}, w, 1e-6f);

        adam.update(w, new float[] {-0.25f, -2.0f}, s, lr, true);
        double[] g1 = {0.5, -2.0};
        double[] g2 = {-0.25, -2.0};
        double[] w1 = {0.999 - 0.1 * 0.5 / (0.5 + eps), 0.1 * 2.0 / (2.0 + eps)};
        for (int i = 0; i < 2; i++) {
            double m = b1 * ((1 - b1) * g1[i]) + (1 - b1) * g2[i];
            double v = b2 * ((1 - b2) * g1[i] * g1[i]) + (1 - b2) * g2[i] * g2[i];
            double mHat = m / (1 - b1 * b1);
            double vHat = v / (1 - b2 * b2);
            double expected = w1[i] * (1 - lr * wd) - lr * mHat / (Math.sqrt(vHat) + eps);
            assertEquals(expected, w[i], 2e-7, "weight " + i + " after step 2");
        }
        assertEquals(2, s.steps());
    }

    @Test
    void adamWWithoutDecayLeavesTheShrinkOut() {
        Optimizer.AdamW adam = new Optimizer.AdamW(0.9, 0.999, 1e-8, 0.5);
        float[] w = {2.0f};
        adam.update(w, new float[] {1.0f}, adam.newState(1), 0.01, false);
        assertEquals(2.0 - 0.01 / (1 + 1e-8), w[0], 1e-6);
    }

    @Test
    void settingsAndStatesAreChecked() {
        assertThrows(IllegalArgumentException.class, () -> new Optimizer.Sgd(1, false, 0));
        assertThrows(IllegalArgumentException.class, () -> new Optimizer.Sgd(0, true, 0));
        assertThrows(IllegalArgumentException.class, () -> new Optimizer.AdamW(0.9, 1, 1e-8, 0));
        assertThrows(IllegalArgumentException.class, () -> new Optimizer.AdamW(0.9, 0.999, 0, 0));
        assertThrows(IllegalArgumentException.class, () -> Optimizer.adamW().withWeightDecay(-1));
        Optimizer.State sgdState = Optimizer.sgd().newState(1);
        assertThrows(IllegalArgumentException.class,
                () -> Optimizer.adamW().update(new float[1], new float[1], sgdState, 0.1, true));
        assertThrows(IllegalArgumentException.class,
                () -> Optimizer.sgd().update(new float[2], new float[1], Optimizer.sgd().newState(2), 0.1, true));
    }
}
