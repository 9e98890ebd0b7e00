package dev.slimnx.validate.latency;

import dev.slimnx.validate.data.SplitMix64;
import java.util.Arrays;
import java.util.Locale;
import java.util.Objects;
import org.apache.commons.math3.stat.inference.MannWhitneyUTest;

/**
 * A candidate's latency against a baseline's at one batch size: how much faster, whether that is
 * more than noise, and how sure we are of the ratio.
 *
 * <p>The verdict is {@link Verdict#FASTER} or {@link Verdict#SLOWER} only when both hold:
 * <ol>
 *   <li>the two-sided Mann–Whitney U test (Commons Math; normal approximation, without continuity
 *       or tie correction, which nanosecond timings hardly need) rejects "both samples come from
 *       one distribution" at {@link Criteria#alpha()};
 *   <li>the p50 speedup differs from 1 by at least {@link Criteria#practicalThreshold()}, in the
 *       direction the ranks point to (more than half of the (baseline, candidate) pairs have the
 *       candidate faster, for FASTER).
 * </ol>
 * Otherwise it is {@link Verdict#NO_SIGNIFICANT_CHANGE}. The test alone is not enough: with the
 * thousands of samples a few seconds give, it finds shifts of a fraction of a percent, and shifts
 * that small come from things that are not the model (where the two sessions' buffers landed in
 * memory and cache, clock frequency, what else the machine runs). The threshold alone is not
 * enough either: with a few noisy samples the medians can differ by 5% by chance.
 *
 * <p>The confidence interval of the p50 speedup is a percentile bootstrap: each resample draws the
 * baseline's and the candidate's samples with replacement, independently and as many as measured,
 * and takes the ratio of their medians; the interval runs between the (1 − c)/2 and (1 + c)/2
 * quantiles of the ratios (type-7 percentiles, as in {@link LatencyStats}). Resampling is seeded,
 * so one input always gives one interval. Independent resampling ignores that the benchmark pairs
 * the two models' runs in rounds, which shared noise within a round would narrow: the interval
 * errs on the wide side.
 *
 * @param p50Speedup baseline p50 / candidate p50; above 1 means the candidate is faster
 * @param meanSpeedup baseline mean / candidate mean
 * @param pValue the two-sided Mann–Whitney U test's p-value
 * @param probabilityCandidateFaster the share of (baseline, candidate) sample pairs in which the
 *     candidate's run was the faster one, ties counting half (U / (n<sub>b</sub> n<sub>c</sub>), a
 *     common-language effect size; 0.5 when the two are alike)
 * @param p50SpeedupLow lower end of the bootstrap confidence interval of p50Speedup
 * @param p50SpeedupHigh upper end of that interval
 * @param verdict faster, slower or no significant change
 * @param criteria the thresholds and bootstrap settings used
 */
public record LatencyComparison(double p50Speedup, double meanSpeedup, double pValue,
                                double probabilityCandidateFaster, double p50SpeedupLow, double p50SpeedupHigh,
                                Verdict verdict, Criteria criteria) {

    /** What a comparison concludes about the candidate. */
    public enum Verdict {
        /** The candidate is faster, by more than noise and more than the practical threshold. */
        FASTER,
        /** The candidate is slower, by more than noise and more than the practical threshold. */
        SLOWER,
        /** Any difference is within noise or too small to matter. */
        NO_SIGNIFICANT_CHANGE
    }

    /**
     * When a difference counts, and how the confidence interval is computed.
     *
     * <p>The defaults, and why:
     * <ul>
     *   <li>α = 0.01: {@code validate} compares at several batch sizes on every CI build; at 0.05 one
     *       unchanged comparison in twenty would be flagged. A hundred runs of each model still
     *       detect a shift of a few percent at 0.01 on a quiet machine.
     *   <li>practical threshold 2%: below it no one keeps or rejects a rewrite, and it sits above
     *       what separates two sessions of one and the same model: measured with this method on a
     *       busy 2-core machine, such pairs differed by up to 1.2% in p50, and the test flagged
     *       that as significant in up to 13 of 60 short runs (the self-comparison test in this
     *       package). A claim of 1.5× is unaffected; "1.01× faster" is reported as no change.
     *   <li>1,000 resamples at 95%: the interval's ends move by well under a percent between seeds,
     *       and the cost grows linearly with the samples (no sorting per resample): milliseconds
     *       for a few thousand.
     * </ul>
     *
     * @param alpha significance level of the two-sided test, in (0, 1)
     * @param practicalThreshold the smallest |p50 speedup − 1| that counts as a change, 0 or more
     * @param confidence confidence level of the bootstrap interval, in (0, 1)
     * @param resamples bootstrap resamples, 1 or more
     * @param seed seed of the bootstrap's generator
     */
    public record Criteria(double alpha, double practicalThreshold, double confidence, int resamples, long seed) {
        /** @throws IllegalArgumentException if a value is out of range */
        public Criteria {
            if (!(alpha > 0 && alpha < 1)) {
                throw new IllegalArgumentException("alpha must be in (0, 1), got " + alpha);
            }
            if (!(practicalThreshold >= 0 && Double.isFinite(practicalThreshold))) {
                throw new IllegalArgumentException("practical threshold must be 0 or more, got " + practicalThreshold);
            }
            if (!(confidence > 0 && confidence < 1)) {
                throw new IllegalArgumentException("confidence must be in (0, 1), got " + confidence);
            }
            if (resamples < 1) {
                throw new IllegalArgumentException("bootstrap resamples must be 1 or more, got " + resamples);
            }
        }

        /** @return α 0.01, threshold 2%, 95% interval from 1,000 resamples, a fixed seed */
        public static Criteria defaults() {
            return new Criteria(0.01, 0.02, 0.95, 1000, 0x5117_4E58L);
        }

        /**
         * @param newSeed seed of the bootstrap's generator
         * @return these criteria with another seed
         */
        public Criteria withSeed(long newSeed) {
            return new Criteria(alpha, practicalThreshold, confidence, resamples, newSeed);
        }
    }

    /**
     * @param baseline the baseline's latency
     * @param candidate the candidate's latency, at the same batch size
     * @return the comparison with {@link Criteria#defaults()}
     * @throws IllegalArgumentException if the batch sizes differ
     */
    public static LatencyComparison compare(LatencyStats baseline, LatencyStats candidate) {
        return compare(baseline, candidate, Criteria.defaults());
    }

    /**
     * @param baseline the baseline's latency
     * @param candidate the candidate's latency, at the same batch size
     * @param criteria thresholds and bootstrap settings
     * @return the comparison
     * @throws IllegalArgumentException if the batch sizes differ
     */
    public static LatencyComparison compare(LatencyStats baseline, LatencyStats candidate, Criteria criteria) {
        Objects.requireNonNull(baseline, "baseline");
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(criteria, "criteria");
        if (baseline.batchSize() != candidate.batchSize()) {
            throw new IllegalArgumentException("cannot compare latencies at batch sizes " + baseline.batchSize()
                    + " and " + candidate.batchSize());
        }
        double[] b = baseline.sortedMillis();
        double[] c = candidate.sortedMillis();
        double p50Speedup = ratio(baseline.p50Ms(), candidate.p50Ms());
        double meanSpeedup = ratio(baseline.meanMs(), candidate.meanMs());
        double pValue = new MannWhitneyUTest().mannWhitneyUTest(b, c);
        double candidateFaster = probabilityLess(c, b);
        double[] ci = bootstrapP50Ratio(b, c, criteria);

        Verdict verdict = Verdict.NO_SIGNIFICANT_CHANGE;
        if (pValue < criteria.alpha() && Math.abs(p50Speedup - 1) >= criteria.practicalThreshold()) {
            if (p50Speedup > 1 && candidateFaster > 0.5) {
                verdict = Verdict.FASTER;
            } else if (p50Speedup < 1 && candidateFaster < 0.5) {
                verdict = Verdict.SLOWER;
            }
            // NOTE: medians and ranks pointing in opposite directions means the distributions
            // differ in shape rather than one being faster; that is no speedup to report.
        }
        return new LatencyComparison(p50Speedup, meanSpeedup, pValue, candidateFaster, ci[0], ci[1], verdict, criteria);
    }

    /** @return true if the interval [low, high] contains the value */
    public boolean intervalContains(double speedup) {
        return p50SpeedupLow <= speedup && speedup <= p50SpeedupHigh;
    }

    private static double ratio(double baseline, double candidate) {
        if (candidate == 0) {
            return baseline == 0 ? 1 : Double.POSITIVE_INFINITY;
        }
        return baseline / candidate;
    }

    /**
     * The share of pairs (x, y) with x &lt; y, ties counting half, by merging two sorted arrays:
     * the Mann–Whitney U of x over (n<sub>x</sub> n<sub>y</sub>), without ranking again.
     */
    static double probabilityLess(double[] sortedX, double[] sortedY) {
        double less = 0;
        int lo = 0;
        int hi = 0;
        for (double x : sortedX) {
            while (lo < sortedY.length && sortedY[lo] <= x) {
                lo++;
            }
            // sortedY[lo..] are all > x; sortedY[hi..lo) == x once hi skips the ones < x
            while (hi < sortedY.length && sortedY[hi] < x) {
                hi++;
            }
            less += (sortedY.length - lo) + 0.5 * (lo - hi);
        }
        return less / ((double) sortedX.length * sortedY.length);
    }

    /**
     * Percentile bootstrap of median(baseline) / median(candidate). A resample of a sorted array is
     * kept as counts per index, which is already sorted, so each resample's median costs O(n)
     * instead of a sort.
     *
     * @return {low, high}
     */
    static double[] bootstrapP50Ratio(double[] sortedBaseline, double[] sortedCandidate, Criteria criteria) {
        SplitMix64 random = new SplitMix64(criteria.seed());
        int[] countsB = new int[sortedBaseline.length];
        int[] countsC = new int[sortedCandidate.length];
        double[] ratios = new double[criteria.resamples()];
        for (int r = 0; r < ratios.length; r++) {
            double mb = resampledMedian(sortedBaseline, countsB, random);
            double mc = resampledMedian(sortedCandidate, countsC, random);
            ratios[r] = ratio(mb, mc);
        }
        Arrays.sort(ratios);
        double tail = (1 - criteria.confidence()) / 2;
        return new double[] {LatencyStats.percentile(ratios, tail), LatencyStats.percentile(ratios, 1 - tail)};
    }

    private static double resampledMedian(double[] sorted, int[] counts, SplitMix64 random) {
        int n = sorted.length;
        Arrays.fill(counts, 0);
        for (int i = 0; i < n; i++) {
            counts[random.below(n)]++;
        }
        // type-7 median: ranks (n-1)/2 and, for even n, the one after, 0-based
        int lowRank = (n - 1) / 2;
        int highRank = n / 2;
        double low = Double.NaN;
        int seen = 0;
        for (int i = 0; i < n; i++) {
            seen += counts[i];
            if (Double.isNaN(low) && seen > lowRank) {
                low = sorted[i];
            }
            if (seen > highRank) {
                return (low + sorted[i]) / 2;
            }
        }
        throw new AssertionError("resample of " + n + " values lost a draw");
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "%s: p50 speedup %.3f× [%.3f, %.3f], mean %.3f×, p=%.2g, P(candidate faster)=%.2f",
                verdict, p50Speedup, p50SpeedupLow, p50SpeedupHigh, meanSpeedup, pValue, probabilityCandidateFaster);
    }
}
