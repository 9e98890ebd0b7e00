package dev.slimnx.validate.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class ClassificationAccumulatorTest {
    /** One-hot-ish logits: class {@code c} scores 1, others 0 ... with a ranking for top-5. */
    private static float[] rows(int classes, int... argmax) {
        float[] out = new float[argmax.length * classes];
        for (int i = 0; i < argmax.length; i++) {
            for (int j = 0; j < classes; j++) {
                out[i * classes + j] = -j; // class 0 best, then 1, 2, ...
            }
            out[i * classes + argmax[i]] = 10;
        }
        return out;
    }

    @Test
    void topOneTopFiveAgreementAndPerClass() {
        ClassificationAccumulator acc = new ClassificationAccumulator(10);
        int[] labels = {0, 1, 2, 3};
        // baseline right on 0,1,2 and wrong on 3 (predicts 9); candidate right on 0,1 only.
        acc.add(rows(10, 0, 1, 2, 9), rows(10, 0, 1, 7, 8), labels, 4);
        var r = acc.result();
        assertEquals(0.75, r.baselineTop1());
        assertEquals(0.5, r.candidateTop1());
        assertEquals(0.5, r.agreement());
        // item 3 (label 3): baseline ranks 9 first, then 0,1,2,3 -> label is 5th -> in top-5.
        assertEquals(1.0, r.baselineTop5());
        assertEquals(1.0, r.perClassBaseline()[2]);
        assertEquals(0.0, r.perClassCandidate()[2]);
        assertTrue(Double.isNaN(r.perClassBaseline()[5]), "no items of class 5");
        assertEquals(-0.25, r.top1Diff(), 1e-12);
    }

    @Test
    void pairedIntervalByHand() {
        // d = [0, 0, -1, 0]: mean -0.25, sample variance (1 - 4 * 0.0625) / 3 = 0.25, se = sqrt(0.25 / 4) = 0.25.
        ClassificationAccumulator acc = new ClassificationAccumulator(10);
        acc.add(rows(10, 0, 1, 2, 9), rows(10, 0, 1, 7, 9), new int[] {0, 1, 2, 3}, 4);
        var r = acc.result();
        assertEquals(-0.25, r.top1Diff(), 1e-12);
        assertEquals(-0.25 - 1.959963984540054 * 0.25, r.top1DiffLow(), 1e-12);
        assertEquals(-0.25 + 1.959963984540054 * 0.25, r.top1DiffHigh(), 1e-12);
    }

    @Test
    void identicalModelsHaveAZeroWidthInterval() {
        ClassificationAccumulator acc = new ClassificationAccumulator(10);
        float[] logits = rows(10, 0, 1, 2, 9);
        acc.add(logits, logits, new int[] {0, 1, 2, 3}, 4);
        var r = acc.result();
        assertEquals(1.0, r.agreement());
        assertEquals(0.0, r.top1Diff());
        assertEquals(0.0, r.top1DiffLow());
        assertEquals(0.0, r.top1DiffHigh());
    }

    @Test
    void unlabelledDataCountsAgreementOnly() {
        ClassificationAccumulator acc = new ClassificationAccumulator(10);
        acc.add(rows(10, 0, 1), rows(10, 0, 2), null, 2);
        var r = acc.result();
        assertEquals(0.5, r.agreement());
        assertTrue(Double.isNaN(r.baselineTop1()));
    }

    @Test
    void badShapesAndLabelsAreRefused() {
        ClassificationAccumulator acc = new ClassificationAccumulator(10);
        assertThrows(IllegalArgumentException.class, () -> acc.add(new float[9], new float[10], null, 1));
        assertThrows(IllegalArgumentException.class, () -> acc.add(rows(10, 0), rows(10, 0), new int[] {10}, 1));
    }
}
