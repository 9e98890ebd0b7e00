package dev.slimnx.passes.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class QuantMathTest {
    @Test
    void zeroIsExactlyRepresentableWhateverTheRange() {
        for (double[] r : new double[][] {{0.3, 5.1}, {-2.7, -0.4}, {-1.33, 4.71}, {-0.001, 1000}}) {
            QuantMath.Affine a = QuantMath.asymmetric(r[0], r[1], 0, 255);
            assertEquals(0f, a.dequantize(a.zeroPoint()), 0f);
            assertEquals(a.zeroPoint(), a.quantize(0.0, 0, 255));
        }
    }

    @Test
    void asymmetricRangeCoversTheObservedValues() {
        QuantMath.Affine a = QuantMath.asymmetric(-1.0, 3.0, 0, 255);
        assertEquals(4.0 / 255, a.scale(), 1e-7);
        assertEquals(64, a.zeroPoint(), "round(1 / (4/255)) = round(63.75)");
        assertEquals(0, a.quantize(-1.0, 0, 255));
        assertEquals(255, a.quantize(3.0, 0, 255));
        assertEquals(255, a.quantize(99.0, 0, 255), "saturates");
    }

    @Test
    void roundingIsHalfToEvenAsQuantizeLinear() {
        QuantMath.Affine unit = new QuantMath.Affine(1f, 0);
        assertEquals(2, unit.quantize(2.5, -128, 127));
        assertEquals(4, unit.quantize(3.5, -128, 127));
        assertEquals(-2, unit.quantize(-2.5, -128, 127));
    }

    @Test
    void perChannelScalesAreEachChannelsMaxOver127() {
        float[] w = {1f, -2f, 0.5f, /* channel 1 */ 0.1f, 0.2f, -0.3f};
        QuantMath.PerChannel q = QuantMath.symmetricPerChannel(w, new long[] {2, 3}, 0);
        assertArrayEquals(new float[] {2f / 127, 0.3f / 127}, q.scales(), 1e-9f);
        assertArrayEquals(new byte[] {64, -127, 32, 42, 85, -127}, q.values());
        QuantMath.PerChannel columns = QuantMath.symmetricPerChannel(w, new long[] {2, 3}, 1);
        assertArrayEquals(new float[] {1f / 127, 2f / 127, 0.5f / 127}, columns.scales(), 1e-9f);
    }

    @Test
    void anAllZeroChannelGetsScaleOne() {
        QuantMath.PerChannel q = QuantMath.symmetricPerChannel(new float[] {0, 0, 1, -1}, new long[] {2, 2}, 0);
        assertArrayEquals(new float[] {1f, 1f / 127}, q.scales(), 1e-9f);
        assertArrayEquals(new byte[] {0, 0, 127, -127}, q.values());
    }

    @Test
    void reducedRangeKeepsCodesWithinPlusMinus64() {
        float[] w = {0.64f, -0.32f, 0.01f, /* channel 1 */ -2f, 1f, 0.015625f};
        QuantMath.PerChannel q = QuantMath.symmetricPerChannel(w, new long[] {2, 3}, 0, QuantMath.INT8_REDUCED_MAX);
        assertArrayEquals(new float[] {0.64f / 64, 2f / 64}, q.scales(), 0f);
        assertArrayEquals(new byte[] {64, -32, 1, -64, 32, 0}, q.values(), "0.015625/(2/64) = 0.5 rounds to even 0");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> QuantMath.symmetricPerChannel(w, new long[] {2, 3}, 0, 128));
    }
}
