package dev.slimnx.validate.latency;

import java.util.Objects;

/**
 * Both models' latency at one batch size, and their comparison.
 *
 * @param batchSize items per call
 * @param baseline the baseline's latency
 * @param candidate the candidate's latency
 * @param comparison the candidate against the baseline
 */
public record BatchLatency(int batchSize, LatencyStats baseline, LatencyStats candidate, LatencyComparison comparison) {
    /**
     * @throws NullPointerException if a part is null
     * @throws IllegalArgumentException if the stats are of another batch size
     */
    public BatchLatency {
        Objects.requireNonNull(baseline, "baseline");
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(comparison, "comparison");
        if (baseline.batchSize() != batchSize || candidate.batchSize() != batchSize) {
            throw new IllegalArgumentException("latencies at batch sizes " + baseline.batchSize() + " and "
                    + candidate.batchSize() + " filed under batch size " + batchSize);
        }
    }
}
