package dev.slimnx.validate.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Hand-computed cases of the recipe's mAP rules. */
class MeanAveragePrecisionTest {
    /** Logits that make class {@code c} of 3 (+ no-object) the argmax with a given margin. */
    private static float[] logits(int c, float margin) {
        float[] l = new float[4];
        l[c] = margin;
        return l;
    }

    private static final float[] BOX = {0.5f, 0.5f, 0.2f, 0.2f};

    @Test
    void perfectDetectionsScoreOne() {
        var im = new MeanAveragePrecision.Image(new float[][] {logits(0, 5), logits(1, 5)},
                new float[][] {BOX, {0.2f, 0.2f, 0.1f, 0.1f}}, new float[][] {BOX, {0.2f, 0.2f, 0.1f, 0.1f}},
                new int[] {0, 1});
        assertEquals(1.0, MeanAveragePrecision.at(List.of(im), 3, 0.5), 1e-12);
    }

    @Test
    void aFalsePositiveRankedFirstHalvesPrecisionAtFullRecall() {
        // Class 0, one ground-truth box. Detections by score: a miss (score high), then a hit.
        // Cumulative: precision [0, 1/2], recall [0, 1]; made non-increasing -> [1/2, 1/2].
        // All 101 recall points read 1/2 -> AP 0.5.
        var im = new MeanAveragePrecision.Image(new float[][] {logits(0, 9), logits(0, 3)},
                new float[][] {{0.9f, 0.9f, 0.1f, 0.1f}, BOX}, new float[][] {BOX}, new int[] {0});
        assertEquals(0.5, MeanAveragePrecision.at(List.of(im), 3, 0.5), 1e-12);
    }

    @Test
    void aMissedObjectCapsRecall() {
        // Two ground-truth boxes of class 0, one detected: recall reaches 0.5. Recall points 0..0.5
        // (51 of 101) read precision 1, the rest 0 -> AP 51/101.
        var im = new MeanAveragePrecision.Image(new float[][] {logits(0, 5)}, new float[][] {BOX},
                new float[][] {BOX, {0.1f, 0.1f, 0.1f, 0.1f}}, new int[] {0, 0});
        assertEquals(51.0 / 101, MeanAveragePrecision.at(List.of(im), 3, 0.5), 1e-12);
    }

    @Test
    void iouBelowThresholdIsNotAMatchAndClassesAverage() {
        // Class 0: box shifted so IoU = 1/3 (0.2 wide boxes overlapping by half) -> AP 0 at 0.5.
        // Class 1: perfect -> AP 1. Mean over the two classes with ground truth: 0.5.
        float[] shifted = {0.6f, 0.5f, 0.2f, 0.2f};
        assertEquals(1.0f / 3, MeanAveragePrecision.iou(shifted, BOX), 1e-6f);
        var im = new MeanAveragePrecision.Image(new float[][] {logits(0, 5), logits(1, 5)},
                new float[][] {shifted, BOX}, new float[][] {BOX, BOX}, new int[] {0, 1});
        assertEquals(0.5, MeanAveragePrecision.at(List.of(im), 3, 0.5), 1e-12);
        assertEquals(1.0, MeanAveragePrecision.at(List.of(im), 3, 0.3), 1e-12);
    }

    @Test
    void noObjectLogitDoesNotTakeTheLabel() {
        // The no-object logit is largest, but the label is the best real class; the score is its
        // (small) probability, which still ranks this detection and it still matches.
        float[] l = {1f, 0f, 0f, 8f};
        var im = new MeanAveragePrecision.Image(new float[][] {l}, new float[][] {BOX}, new float[][] {BOX},
                new int[] {0});
        assertEquals(1.0, MeanAveragePrecision.at(List.of(im), 3, 0.5), 1e-12);
    }
}
