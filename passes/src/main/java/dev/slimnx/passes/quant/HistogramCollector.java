package dev.slimnx.passes.quant;

import java.util.Arrays;

/**
 * A histogram of the values a tensor took, built batch by batch without keeping the values.
 *
 * <h2>Layout and growth</h2>
 * The histogram has {@code 2·bins} equal bins over {@code [−L, L]}, so that it serves both signed
 * questions (the asymmetric percentile) and questions about |x| (the symmetric percentile, the
 * entropy threshold): bins {@code bins − 1 − j} and {@code bins + j} together hold the values with
 * {@code |x|} in {@code [j·w, (j+1)·w)}, {@code w = L / bins} ({@link #absHistogram}).
 *
 * <p>{@code L} starts as the largest |x| of the first batch with a non-zero value. When a later
 * batch goes beyond it, {@code L} doubles as often as needed and the old counts are merged in
 * pairs: with {@code bins} even, old bin {@code b} lies wholly inside new bin
 * {@code ⌊(bins + b)/2⌋}, so re-binning moves no count across a bin edge. Memory stays
 * {@code 2·bins} counts whatever the data, and the final {@code L} is less than twice the largest
 * |x| (at least half of the bins carry the range). Values exactly 0 seen before the first non-zero
 * value are held aside and put in the bin at 0 once {@code L} exists; exact zeros are also
 * counted apart ({@link #nonZeroAbsHistogram}). NaNs are ignored; infinities count as the largest
 * finite float.
 */
public final class HistogramCollector {
    private final int bins;
    private final long[] counts;
    private final MinMaxCollector minMax = new MinMaxCollector();
    private double limit;
    private long pendingZeros;
    private long zeros;

    /**
     * @param bins bins over |x| (the signed histogram has twice as many); even, at least 2
     * @throws IllegalArgumentException for an odd or too small count
     */
    public HistogramCollector(int bins) {
        if (bins < 2 || bins % 2 != 0) {
            throw new IllegalArgumentException("bins must be even and at least 2, got " + bins);
        }
        this.bins = bins;
        this.counts = new long[2 * bins];
    }

    /** @param values one batch of the tensor's values */
    public void add(float[] values) {
        minMax.add(values);
        double maxAbs = 0;
        for (float v : values) {
            if (v == v) {
                maxAbs = Math.max(maxAbs, Math.abs((double) MinMaxCollector.finite(v)));
            }
        }
        if (limit == 0) {
            if (maxAbs == 0) {
                for (float v : values) {
                    pendingZeros += v == v ? 1 : 0;
                }
                return;
            }
            limit = maxAbs;
            counts[bins] += pendingZeros;
            zeros += pendingZeros;
            pendingZeros = 0;
        }
        while (maxAbs > limit) {
            doubleRange();
        }
        int last = 2 * bins - 1;
        for (float v : values) {
            zeros += v == 0 ? 1 : 0;
            if (v == v) {
                double x = MinMaxCollector.finite(v);
                int b = (int) Math.floor((x / limit + 1) * bins);
                counts[Math.max(0, Math.min(last, b))]++;
            }
        }
    }

    private void doubleRange() {
        long[] merged = new long[counts.length];
        for (int b = 0; b < counts.length; b++) {
            merged[(bins + b) / 2] += counts[b];
        }
        System.arraycopy(merged, 0, counts, 0, counts.length);
        limit *= 2;
    }

    /** @return bins over |x| */
    public int bins() {
        return bins;
    }

    /** @return L: the signed histogram covers [−L, L]; 0 while every value seen was 0 */
    public double limit() {
        return limit;
    }

    /** @return the width of one bin, {@code L / bins} */
    public double binWidth() {
        return limit / bins;
    }

    /** @return values counted */
    public long count() {
        return minMax.count();
    }

    /** @return the exact minimum and maximum seen */
    public Range minMax() {
        return minMax.range();
    }

    /** @return a copy of the signed counts, {@code 2·bins} bins over [−L, L] */
    public long[] signedHistogram() {
        return counts.clone();
    }

    /** @return counts of |x| in {@code [j·w, (j+1)·w)}, j = 0 … bins − 1 */
    public long[] absHistogram() {
        long[] abs = new long[bins];
        for (int j = 0; j < bins; j++) {
            abs[j] = counts[bins + j] + counts[bins - 1 - j];
        }
        abs[0] += pendingZeros;
        return abs;
    }

    /**
     * @return {@link #absHistogram()} without the values that were exactly 0. Every range holds 0
     *     exactly, so they cost nothing whatever the threshold; left in, the spike of a ReLU's zeros
     *     would pull the entropy threshold down to keep bin 0 alone on its level.
     */
    public long[] nonZeroAbsHistogram() {
        long[] abs = absHistogram();
        abs[0] -= zeros + pendingZeros;
        return abs;
    }

    /** @return values that were exactly 0 */
    public long zeros() {
        return zeros + pendingZeros;
    }

    /**
     * The range that keeps {@code percentile} percent of the values.
     * <ul>
     *   <li>symmetric: {@code t} is the upper edge of the first |x| bin at which the cumulative
     *       share reaches {@code p/100}; the range is {@code [−t, t]}.</li>
     *   <li>asymmetric: with {@code c = (100 − p)/200}, the low end is the lower edge of the first
     *       signed bin whose cumulative share exceeds {@code c}, the high end the upper edge of the
     *       first bin whose cumulative share reaches {@code 1 − c}.</li>
     * </ul>
     * Either way the result is clipped to the observed [min, max], so a percentile never widens
     * the range beyond what was seen (the bin edges may lie beyond it).
     *
     * @param percentile in (0, 100]
     * @param symmetric which of the two rules
     * @return the range
     * @throws IllegalStateException when nothing was collected
     */
    public Range percentileRange(double percentile, boolean symmetric) {
        Range seen = minMax();
        if (limit == 0) {
            return seen;
        }
        double w = binWidth();
        if (symmetric) {
            long[] abs = absHistogram();
            int j = firstReaching(abs, percentile / 100 * total(abs), false);
            double t = (j + 1) * w;
            return clip(-t, t, seen);
        }
        long[] signed = signedHistogram();
        signed[bins] += pendingZeros;
        double total = total(signed);
        double cut = (100 - percentile) / 200;
        int lo = firstReaching(signed, cut * total, true);
        int hi = firstReaching(signed, (1 - cut) * total, false);
        return clip(-limit + lo * w, -limit + (hi + 1) * w, seen);
    }

    /**
     * @param threshold the clipping threshold of |x| ({@link EntropyThreshold})
     * @return {@code [−threshold, threshold]} clipped to the observed [min, max]
     */
    public Range clippedTo(double threshold) {
        return clip(-threshold, threshold, minMax());
    }

    private static Range clip(double lo, double hi, Range seen) {
        return new Range((float) Math.max(seen.min(), lo), (float) Math.min(seen.max(), hi));
    }

    private static double total(long[] h) {
        return Arrays.stream(h).asDoubleStream().sum();
    }

    /** @return the first index whose cumulative count reaches {@code target} (exceeds it when strict) */
    private static int firstReaching(long[] h, double target, boolean strict) {
        double sum = 0;
        for (int i = 0; i < h.length; i++) {
            sum += h[i];
            if (strict ? sum > target : sum >= target) {
                return i;
            }
        }
        return h.length - 1;
    }
}
