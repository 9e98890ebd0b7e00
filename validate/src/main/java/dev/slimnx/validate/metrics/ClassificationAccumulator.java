package dev.slimnx.validate.metrics;

/**
 * Accumulates classification results of a baseline and a candidate on the same labelled items:
 * top-1 and top-5 of each, per-class top-1, the agreement of their argmax, and the paired difference
 * of their correctness, from which the accuracy difference gets a 95% confidence interval.
 *
 * <p>NOTE: the interval is the normal approximation for paired binary outcomes: with
 * {@code d_i = correct_candidate_i − correct_baseline_i}, the difference is {@code mean(d)} and its
 * standard error {@code sd(d)/√n}. Pairing matters: both models see the same images, so most
 * {@code d_i} are 0 and the interval is far narrower than for two independent accuracies.
 */
public final class ClassificationAccumulator {
    private final int classes;
    private long items;
    private long baseTop1;
    private long candTop1;
    private long baseTop5;
    private long candTop5;
    private long agree;
    private long sumD;
    private long sumD2;
    private final long[] perClassCount;
    private final long[] perClassBase;
    private final long[] perClassCand;

    /**
     * @param classes number of classes (logits per item)
     */
    public ClassificationAccumulator(int classes) {
        if (classes < 1) {
            throw new IllegalArgumentException("need at least one class, got " + classes);
        }
        this.classes = classes;
        this.perClassCount = new long[classes];
        this.perClassBase = new long[classes];
        this.perClassCand = new long[classes];
    }

    /**
     * @param baseline baseline logits, [n, classes] row-major
     * @param candidate candidate logits, [n, classes] row-major
     * @param labels true classes, or null for unlabelled data (only agreement is counted)
     * @param n items in the batch
     */
    public void add(float[] baseline, float[] candidate, int[] labels, int n) {
        if (baseline.length != n * classes || candidate.length != n * classes) {
            throw new IllegalArgumentException("expected " + n + " x " + classes + " logits, got "
                    + baseline.length + " and " + candidate.length);
        }
        int[] b = Classification.argmax(baseline, n);
        int[] c = Classification.argmax(candidate, n);
        for (int i = 0; i < n; i++) {
            agree += b[i] == c[i] ? 1 : 0;
            if (labels == null) {
                continue;
            }
            int y = labels[i];
            if (y < 0 || y >= classes) {
                throw new IllegalArgumentException("label " + y + " is outside 0.." + (classes - 1));
            }
            int bc = b[i] == y ? 1 : 0;
            int cc = c[i] == y ? 1 : 0;
            baseTop1 += bc;
            candTop1 += cc;
            baseTop5 += inTopK(baseline, i, y, 5) ? 1 : 0;
            candTop5 += inTopK(candidate, i, y, 5) ? 1 : 0;
            perClassCount[y]++;
            perClassBase[y] += bc;
            perClassCand[y] += cc;
            sumD += cc - bc;
            sumD2 += (cc - bc) * (cc - bc);
        }
        items += n;
    }

    /** True if fewer than k classes score strictly higher than the label's score. */
    private boolean inTopK(float[] logits, int row, int label, int k) {
        float s = logits[row * classes + label];
        int higher = 0;
        for (int j = 0; j < classes; j++) {
            if (logits[row * classes + j] > s) {
                higher++;
            }
        }
        return higher < k;
    }

    /**
     * The accumulated figures.
     *
     * @param items items seen
     * @param baselineTop1 baseline top-1 (NaN without labels)
     * @param candidateTop1 candidate top-1
     * @param baselineTop5 baseline top-5
     * @param candidateTop5 candidate top-5
     * @param agreement fraction of items where both argmaxes are equal
     * @param top1Diff candidate − baseline top-1
     * @param top1DiffLow lower end of the 95% interval of the difference
     * @param top1DiffHigh upper end
     * @param perClassBaseline per-class top-1 of the baseline (NaN for classes without items)
     * @param perClassCandidate per-class top-1 of the candidate
     */
    public record Result(long items, double baselineTop1, double candidateTop1, double baselineTop5,
                         double candidateTop5, double agreement, double top1Diff, double top1DiffLow,
                         double top1DiffHigh, double[] perClassBaseline, double[] perClassCandidate) {
    }

    /** @return the figures so far */
    public Result result() {
        boolean labelled = perClassCount.length > 0 && java.util.Arrays.stream(perClassCount).sum() > 0;
        double n = items;
        double mean = labelled ? sumD / n : Double.NaN;
        double var = labelled && n > 1 ? (sumD2 - n * mean * mean) / (n - 1) : 0;
        double half = 1.959963984540054 * Math.sqrt(Math.max(var, 0) / n);
        double[] pb = new double[classes];
        double[] pc = new double[classes];
        for (int k = 0; k < classes; k++) {
            pb[k] = perClassCount[k] == 0 ? Double.NaN : (double) perClassBase[k] / perClassCount[k];
            pc[k] = perClassCount[k] == 0 ? Double.NaN : (double) perClassCand[k] / perClassCount[k];
        }
        return new Result(items, labelled ? baseTop1 / n : Double.NaN, labelled ? candTop1 / n : Double.NaN,
                labelled ? baseTop5 / n : Double.NaN, labelled ? candTop5 / n : Double.NaN,
                items == 0 ? Double.NaN : agree / n, mean, mean - half, mean + half, pb, pc);
    }
}
