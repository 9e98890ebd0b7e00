package dev.slimnx.validate.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class OutputErrorAccumulatorTest {
    @Test
    void figuresByHand() {
        OutputErrorAccumulator acc = new OutputErrorAccumulator();
        acc.add(new float[] {3, 4}, new float[] {3, 3});
        acc.add(new float[] {0}, new float[] {0.5f});
        var r = acc.result();
        assertEquals(1.0, r.maxAbs());
        assertEquals(0.5, r.meanAbs(), 1e-12);          // (0 + 1 + 0.5) / 3
        // signal 9 + 16 + 0 = 25, noise 0 + 1 + 0.25 = 1.25 -> 10 log10(20) dB
        assertEquals(10 * Math.log10(20), r.sqnrDb(), 1e-12);
        // dot 9 + 12 + 0 = 21; |b| = 5; |c| = sqrt(9 + 9 + 0.25)
        assertEquals(21 / (5 * Math.sqrt(18.25)), r.cosine(), 1e-12);
        assertEquals(3, r.elements());
    }

    @Test
    void identicalOutputsHaveInfiniteSqnr() {
        OutputErrorAccumulator acc = new OutputErrorAccumulator();
        acc.add(new float[] {1, Float.NaN, -2}, new float[] {1, Float.NaN, -2});
        var r = acc.result();
        assertTrue(r.identical());
        assertEquals(Double.POSITIVE_INFINITY, r.sqnrDb());
        assertEquals(1.0, r.cosine(), 1e-12);
    }

    @Test
    void aNanOnOneSideIsCountedNotHidden() {
        OutputErrorAccumulator acc = new OutputErrorAccumulator();
        acc.add(new float[] {1, 2}, new float[] {1, Float.NaN});
        assertEquals(1, acc.result().mismatchedNonFinite());
        assertTrue(!acc.result().identical());
    }
}
