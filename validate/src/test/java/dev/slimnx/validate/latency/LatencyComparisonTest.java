package dev.slimnx.validate.latency;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.validate.latency.LatencyComparison.Criteria;
import dev.slimnx.validate.latency.LatencyComparison.Verdict;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LatencyComparisonTest {
    /**
     * Latencies shaped like real ones: a floor plus a right-skewed (log-normal) part, so the
     * median of the distribution is {@code median} ms.
     */
    private static LatencyStats sample(int n, double median, double spread, long seed) {
        Random r = new Random(seed);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = Math.round(median * Math.exp(spread * r.nextGaussian()) * 1e6);
        }
        return LatencyStats.of(1, out);
    }

    @Test
    void clearlyFasterCandidateIsFaster() {
        LatencyComparison c = LatencyComparison.compare(sample(200, 10, 0.1, 1), sample(200, 8, 0.1, 2));
        assertEquals(Verdict.FASTER, c.verdict(), c::toString);
        assertEquals(1.25, c.p50Speedup(), 0.03);
        assertTrue(c.pValue() < 1e-6, c::toString);
        assertTrue(c.probabilityCandidateFaster() > 0.9, c::toString);
        assertTrue(c.p50SpeedupLow() > 1.02 && c.p50SpeedupLow() < c.p50Speedup() && c.p50Speedup() < c.p50SpeedupHigh(),
                c::toString);
    }

    @Test
    void clearlySlowerCandidateIsSlower() {
        LatencyComparison c = LatencyComparison.compare(sample(200, 8, 0.1, 1), sample(200, 10, 0.1, 2));
        assertEquals(Verdict.SLOWER, c.verdict(), c::toString);
        assertEquals(0.8, c.p50Speedup(), 0.02);
        assertTrue(c.probabilityCandidateFaster() < 0.1, c::toString);
    }

    @Test
    void twoDrawsFromOneDistributionAreNoChange() {
        LatencyComparison c = LatencyComparison.compare(sample(300, 10, 0.2, 3), sample(300, 10, 0.2, 4));
        assertEquals(Verdict.NO_SIGNIFICANT_CHANGE, c.verdict(), c::toString);
        assertTrue(c.pValue() > 0.01, c::toString);
        assertTrue(c.intervalContains(1.0), c::toString);
    }

    @Test
    void identicalSamplesAreNoChangeWithRatioOne() {
        LatencyStats s = sample(50, 5, 0.1, 5);
        LatencyComparison c = LatencyComparison.compare(s, s);
        assertEquals(Verdict.NO_SIGNIFICANT_CHANGE, c.verdict());
        assertEquals(1.0, c.p50Speedup(), 0);
        assertEquals(1.0, c.meanSpeedup(), 0);
        assertEquals(1.0, c.pValue(), 1e-12);
        assertEquals(0.5, c.probabilityCandidateFaster(), 1e-12);
    }

    @Test
    void significantButTinyDifferenceIsNoChange() {
        // 1% faster with very little noise and many samples: the test sees it, the threshold drops it
        LatencyComparison c = LatencyComparison.compare(sample(5000, 10, 0.01, 6), sample(5000, 9.9, 0.01, 7));
        assertTrue(c.pValue() < 1e-10, c::toString);
        assertEquals(1.01, c.p50Speedup(), 0.002);
        assertEquals(Verdict.NO_SIGNIFICANT_CHANGE, c.verdict(), c::toString);
        // and the same data with the threshold off is a change
        Criteria strict = new Criteria(0.01, 0, 0.95, 200, 1);
        LatencyComparison s = LatencyComparison.compare(sample(5000, 10, 0.01, 6), sample(5000, 9.9, 0.01, 7), strict);
        assertEquals(Verdict.FASTER, s.verdict(), s::toString);
    }

    @Test
    void largeButNoisyDifferenceFromFewSamplesIsNoChange() {
        LatencyComparison c = LatencyComparison.compare(sample(6, 10, 0.5, 8), sample(6, 9, 0.5, 9));
        assertEquals(Verdict.NO_SIGNIFICANT_CHANGE, c.verdict(), c::toString);
    }

    @Test
    void bootstrapIntervalContainsTheTrueRatio() {
        // true p50 ratio 12 / 10 = 1.2; across 40 independent data sets a 95% interval must miss it rarely
        int covered = 0;
        for (int d = 0; d < 40; d++) {
            LatencyComparison c = LatencyComparison.compare(sample(150, 12, 0.2, 100 + d), sample(150, 10, 0.2, 200 + d));
            if (c.intervalContains(1.2)) {
                covered++;
            }
            assertTrue(c.p50SpeedupLow() > 1, c::toString);
        }
        // P(covered <= 33 | coverage 0.95) is about 0.014: a correct interval passes this
        assertTrue(covered >= 34, "the 95% interval covered the true ratio in " + covered + " of 40 data sets");
    }

    @Test
    void bootstrapIsDeterministicForASeed() {
        LatencyStats a = sample(120, 10, 0.3, 10);
        LatencyStats b = sample(120, 9, 0.3, 11);
        Criteria criteria = Criteria.defaults();
        LatencyComparison first = LatencyComparison.compare(a, b, criteria);
        LatencyComparison again = LatencyComparison.compare(a, b, criteria);
        assertEquals(first, again);
        LatencyComparison other = LatencyComparison.compare(a, b, criteria.withSeed(99));
        assertNotEquals(first.p50SpeedupLow(), other.p50SpeedupLow());
        assertEquals(first.p50SpeedupLow(), other.p50SpeedupLow(), 0.03);
        assertEquals(first.p50Speedup(), other.p50Speedup(), 0);
    }

    @Test
    void probabilityLessCountsTiesAsHalf() {
        assertEquals(3.5 / 4, LatencyComparison.probabilityLess(new double[] {1, 2}, new double[] {2, 3}), 1e-12);
        assertEquals(0.5 / 6, LatencyComparison.probabilityLess(new double[] {5, 6}, new double[] {1, 2, 5}), 1e-12);
        assertEquals(0.5, LatencyComparison.probabilityLess(new double[] {1, 1}, new double[] {1}), 1e-12);
    }

    @Test
    void refusesMismatchedBatchesAndBadCriteria() {
        LatencyStats one = LatencyStats.of(1, new long[] {1, 2, 3});
        LatencyStats eight = LatencyStats.of(8, new long[] {1, 2, 3});
        assertThrows(IllegalArgumentException.class, () -> LatencyComparison.compare(one, eight));
        assertThrows(IllegalArgumentException.class, () -> new Criteria(0, 0.02, 0.95, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new Criteria(0.01, -0.1, 0.95, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new Criteria(0.01, 0.02, 1, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> new Criteria(0.01, 0.02, 0.95, 0, 1));
    }
}
