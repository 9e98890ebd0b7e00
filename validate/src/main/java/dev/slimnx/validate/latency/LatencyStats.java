package dev.slimnx.validate.latency;

import java.util.Arrays;
import java.util.Locale;

/**
 * The latency of one model at one batch size: the measured samples and their summary.
 *
 * <p>Percentiles use linear interpolation between closest ranks (Hyndman and Fan's type 7, the
 * default of NumPy and R): for sorted samples x<sub>0</sub> ≤ … ≤ x<sub>n−1</sub> and a fraction
 * q, let h = (n − 1)·q; the percentile is x<sub>⌊h⌋</sub> + (h − ⌊h⌋)·(x<sub>⌊h⌋+1</sub> −
 * x<sub>⌊h⌋</sub>). So p50 is the usual median, p0 the minimum and p100 the maximum, and with few
 * samples p99 lies between the two largest instead of being the largest.
 *
 * <p>Throughput is {@code batchSize / mean}: over a long stream of calls the items served per
 * second are the total items over the total time, and the total time is n × mean, not n × p50.
 */
public final class LatencyStats {
    private static final double NANOS_PER_MS = 1e6;

    private final int batchSize;
    private final long[] samplesNanos;
    private final double[] sortedMs;
    private final double meanMs;

    private LatencyStats(int batchSize, long[] samplesNanos) {
        this.batchSize = batchSize;
        this.samplesNanos = samplesNanos;
        this.sortedMs = new double[samplesNanos.length];
        double sum = 0;
        for (int i = 0; i < samplesNanos.length; i++) {
            sortedMs[i] = samplesNanos[i] / NANOS_PER_MS;
            sum += sortedMs[i];
        }
        Arrays.sort(sortedMs);
        this.meanMs = sum / samplesNanos.length;
    }

    /**
     * @param batchSize items per measured call
     * @param samplesNanos the duration of each measured call, in nanoseconds, in measuring order; copied
     * @return the summary
     * @throws IllegalArgumentException if batchSize is not positive, there are no samples, or a
     *     sample is negative
     */
    public static LatencyStats of(int batchSize, long[] samplesNanos) {
        if (batchSize <= 0) {
            throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
        }
        if (samplesNanos.length == 0) {
            throw new IllegalArgumentException("no latency samples");
        }
        for (long s : samplesNanos) {
            if (s < 0) {
                throw new IllegalArgumentException("latency samples must not be negative, got " + s + " ns");
            }
        }
        return new LatencyStats(batchSize, samplesNanos.clone());
    }

    /** @return items per measured call */
    public int batchSize() {
        return batchSize;
    }

    /** @return the number of measured calls */
    public int count() {
        return samplesNanos.length;
    }

    /** @return each call's duration in nanoseconds, in measuring order (a copy) */
    public long[] samplesNanos() {
        return samplesNanos.clone();
    }

    /** @return each call's duration in milliseconds, sorted ascending (a copy) */
    public double[] sortedMillis() {
        return sortedMs.clone();
    }

    /** @return the mean latency, in milliseconds */
    public double meanMs() {
        return meanMs;
    }

    /** @return the median latency, in milliseconds */
    public double p50Ms() {
        return percentileMs(50);
    }

    /** @return the 90th percentile latency, in milliseconds */
    public double p90Ms() {
        return percentileMs(90);
    }

    /** @return the 99th percentile latency, in milliseconds */
    public double p99Ms() {
        return percentileMs(99);
    }

    /** @return the fastest call, in milliseconds */
    public double minMs() {
        return sortedMs[0];
    }

    /** @return the slowest call, in milliseconds */
    public double maxMs() {
        return sortedMs[sortedMs.length - 1];
    }

    /**
     * @param percent 0 to 100
     * @return that percentile of the latency, in milliseconds (see the class comment for the method)
     * @throws IllegalArgumentException if percent is out of range
     */
    public double percentileMs(double percent) {
        return percentile(sortedMs, percent / 100);
    }

    /**
     * @return items per second: {@code batchSize / mean}; infinite if every call took 0 ns
     */
    public double throughput() {
        return batchSize * 1000 / meanMs;
    }

    /**
     * The type-7 percentile of sorted values (see the class comment).
     *
     * @param sorted ascending, not empty
     * @param fraction 0 to 1
     * @return the interpolated value
     * @throws IllegalArgumentException if fraction is out of range or sorted is empty
     */
    static double percentile(double[] sorted, double fraction) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("percentile must be 0 to 100, got " + fraction * 100);
        }
        if (sorted.length == 0) {
            throw new IllegalArgumentException("no values");
        }
        double h = (sorted.length - 1) * fraction;
        int lo = (int) Math.floor(h);
        if (lo >= sorted.length - 1) {
            return sorted[sorted.length - 1];
        }
        return sorted[lo] + (h - lo) * (sorted[lo + 1] - sorted[lo]);
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "batch %d: n=%d mean=%.4f ms p50=%.4f p90=%.4f p99=%.4f ms, %.1f items/s",
                batchSize, count(), meanMs, p50Ms(), p90Ms(), p99Ms(), throughput());
    }
}
