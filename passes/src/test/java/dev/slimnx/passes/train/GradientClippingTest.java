package dev.slimnx.passes.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Clipping by the norm of all gradients together: a 3-4-12 triangle, norm 13. */
class GradientClippingTest {
    @Test
    void aNormAboveTheBoundScalesEveryGradientByTheSameFactor() {
        float[] a = {3, 4};
        float[] b = {12};
        double norm = GradientClipping.clipByGlobalNorm(List.of(a, b), 6.5);
        assertEquals(13, norm, 1e-12, "the norm before clipping");
        double scale = 6.5 / (13 + 1e-6);
        assertArrayEquals(new float[] {(float) (3 * scale), (float) (4 * scale)}, a, 1e-7f);
        assertArrayEquals(new float[] {(float) (12 * scale)}, b, 1e-7f);
        assertEquals(6.5, GradientClipping.globalNorm(List.of(a, b)), 1e-6, "the direction kept, the norm at the bound");
    }

    @Test
    void aNormWithinTheBoundIsLeftAlone() {
        float[] a = {3, 4};
        float[] b = {12};
        assertEquals(13, GradientClipping.clipByGlobalNorm(List.of(a, b), 13), 1e-12);
        assertArrayEquals(new float[] {3, 4}, a);
        assertArrayEquals(new float[] {12}, b);
    }

    @Test
    void aNonFiniteNormIsReportedNotSpread() {
        float[] a = {Float.NaN, 1};
        assertEquals(Double.NaN, GradientClipping.clipByGlobalNorm(List.of(a), 1));
        assertEquals(1f, a[1]);
        assertThrows(IllegalArgumentException.class, () -> GradientClipping.clipByGlobalNorm(List.of(a), 0));
    }
}
