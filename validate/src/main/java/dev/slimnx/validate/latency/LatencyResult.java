package dev.slimnx.validate.latency;

import dev.slimnx.runtime.RunOptions;
import java.util.List;
import java.util.Objects;

/**
 * What a {@link LatencyBenchmark} measured: one entry per batch size, with the settings it ran under.
 *
 * @param runOptions provider, threads and optimization level both models ran with
 * @param options warm-up, budget and batch sizes
 * @param batches one entry per batch size, in the order of {@code options.batchSizes()}
 */
public record LatencyResult(RunOptions runOptions, LatencyOptions options, List<BatchLatency> batches) {
    /** @throws NullPointerException if a part is null */
    public LatencyResult {
        Objects.requireNonNull(runOptions, "runOptions");
        Objects.requireNonNull(options, "options");
        batches = List.copyOf(batches);
    }

    /**
     * @param batchSize a measured batch size
     * @return its entry
     * @throws IllegalArgumentException listing the measured sizes if it was not measured
     */
    public BatchLatency at(int batchSize) {
        return batches.stream().filter(b -> b.batchSize() == batchSize).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("batch size " + batchSize
                        + " was not measured; measured: " + options.batchSizes()));
    }
}
