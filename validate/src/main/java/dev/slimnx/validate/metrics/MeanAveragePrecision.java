package dev.slimnx.validate.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * COCO-style mean average precision for DETR-style outputs, with the rules the reference recipe
 * used, so figures here and in the manifest agree:
 * <ul>
 *   <li>every query is a detection: its class is the argmax of softmax(logits) over the real
 *       classes (the last logit is "no object"), its score that probability;</li>
 *   <li>per class, detections are taken by descending score (ties in image, query order); each
 *       matches the unused ground-truth box of its class in its image with the highest IoU, a
 *       true positive when that IoU reaches the threshold;</li>
 *   <li>precision is made non-increasing in recall and read at the 101 recall points 0, 0.01, …, 1;</li>
 *   <li>AP is averaged over the classes that have ground truth.</li>
 * </ul>
 */
public final class MeanAveragePrecision {
    private MeanAveragePrecision() {
    }

    /**
     * Detections and ground truth of one image.
     *
     * @param logits [queries][classes + 1]
     * @param boxes [queries][4] as (cx, cy, w, h)
     * @param gtBoxes [objects][4] as (cx, cy, w, h)
     * @param gtClasses [objects]
     */
    public record Image(float[][] logits, float[][] boxes, float[][] gtBoxes, int[] gtClasses) {
    }

    /**
     * @param images per-image detections and ground truth
     * @param classes number of real classes
     * @param iouThreshold IoU needed for a match, e.g. 0.5
     * @return mAP in [0, 1]; NaN when no class has ground truth
     */
    public static double at(List<Image> images, int classes, double iouThreshold) {
        int n = images.size();
        int[][] label = new int[n][];
        float[][] score = new float[n][];
        for (int i = 0; i < n; i++) {
            float[][] logits = images.get(i).logits();
            label[i] = new int[logits.length];
            score[i] = new float[logits.length];
            for (int q = 0; q < logits.length; q++) {
                float[] p = softmax(logits[q]);
                int best = 0;
                for (int c = 1; c < classes; c++) {
                    if (p[c] > p[best]) {
                        best = c;
                    }
                }
                label[i][q] = best;
                score[i][q] = p[best];
            }
        }
        double sum = 0;
        int counted = 0;
        for (int c = 0; c < classes; c++) {
            int gt = 0;
            for (Image im : images) {
                for (int g : im.gtClasses()) {
                    gt += g == c ? 1 : 0;
                }
            }
            if (gt == 0) {
                continue;
            }
            sum += classAp(images, label, score, c, gt, iouThreshold);
            counted++;
        }
        return counted == 0 ? Double.NaN : sum / counted;
    }

    /**
     * @return mAP averaged over IoU thresholds 0.50, 0.55, …, 0.95 (COCO's mAP@[.5:.95])
     */
    public static double averagedOverThresholds(List<Image> images, int classes) {
        double sum = 0;
        for (int k = 0; k < 10; k++) {
            sum += at(images, classes, 0.5 + 0.05 * k);
        }
        return sum / 10;
    }

    private static double classAp(List<Image> images, int[][] label, float[][] score, int c, int gt, double thr) {
        List<int[]> dets = new ArrayList<>(); // (image, query), in image-major order
        for (int i = 0; i < images.size(); i++) {
            for (int q = 0; q < label[i].length; q++) {
                if (label[i][q] == c) {
                    dets.add(new int[] {i, q});
                }
            }
        }
        dets.sort((a, b) -> Float.compare(score[b[0]][b[1]], score[a[0]][a[1]])); // stable
        boolean[][] used = new boolean[images.size()][];
        for (int i = 0; i < images.size(); i++) {
            used[i] = new boolean[images.get(i).gtClasses().length];
        }
        double[] precision = new double[dets.size()];
        double[] recall = new double[dets.size()];
        int tp = 0;
        for (int d = 0; d < dets.size(); d++) {
            Image im = images.get(dets.get(d)[0]);
            float[] box = im.boxes()[dets.get(d)[1]];
            int bestJ = -1;
            float bestIou = -1;
            for (int j = 0; j < im.gtClasses().length; j++) {
                if (im.gtClasses()[j] == c && !used[dets.get(d)[0]][j]) {
                    float iou = iou(box, im.gtBoxes()[j]);
                    if (iou > bestIou) {
                        bestIou = iou;
                        bestJ = j;
                    }
                }
            }
            if (bestJ >= 0 && bestIou >= thr) {
                used[dets.get(d)[0]][bestJ] = true;
                tp++;
            }
            recall[d] = (double) tp / gt;
            precision[d] = (double) tp / (d + 1);
        }
        for (int k = precision.length - 2; k >= 0; k--) {
            precision[k] = Math.max(precision[k], precision[k + 1]);
        }
        double ap = 0;
        for (int k = 0; k <= 100; k++) {
            double r = k * 0.01; // numpy.linspace(0, 1, 101) computes k * step the same way
            int idx = lowerBound(recall, r);
            ap += idx < precision.length ? precision[idx] : 0;
        }
        return ap / 101;
    }

    private static int lowerBound(double[] sorted, double key) {
        int idx = Arrays.binarySearch(sorted, key);
        if (idx < 0) {
            return -idx - 1;
        }
        while (idx > 0 && sorted[idx - 1] == key) {
            idx--;
        }
        return idx;
    }

    /**
     * @param a box (cx, cy, w, h)
     * @param b box (cx, cy, w, h)
     * @return intersection over union, in float arithmetic as the recipe computes it
     */
    public static float iou(float[] a, float[] b) {
        float ax0 = a[0] - a[2] / 2;
        float ay0 = a[1] - a[3] / 2;
        float ax1 = a[0] + a[2] / 2;
        float ay1 = a[1] + a[3] / 2;
        float bx0 = b[0] - b[2] / 2;
        float by0 = b[1] - b[3] / 2;
        float bx1 = b[0] + b[2] / 2;
        float by1 = b[1] + b[3] / 2;
        float iw = Math.max(Math.min(ax1, bx1) - Math.max(ax0, bx0), 0);
        float ih = Math.max(Math.min(ay1, by1) - Math.max(ay0, by0), 0);
        float inter = iw * ih;
        return inter / (a[2] * a[3] + b[2] * b[3] - inter);
    }

    private static float[] softmax(float[] logits) {
        float max = Float.NEGATIVE_INFINITY;
        for (float v : logits) {
            max = Math.max(max, v);
        }
        double sum = 0;
        float[] p = new float[logits.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) Math.exp(logits[i] - max);
            sum += p[i];
        }
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (p[i] / sum);
        }
        return p;
    }
}
