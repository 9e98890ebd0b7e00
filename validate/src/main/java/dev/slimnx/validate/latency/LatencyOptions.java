package dev.slimnx.validate.latency;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How long and at which batch sizes a {@link LatencyBenchmark} measures.
 *
 * @param warmupIterations unmeasured runs of each model before measuring, at each batch size
 *     (interleaved like the measured ones); they let ONNX Runtime allocate its buffers, the JIT
 *     compile slimnx's side of a call and the caches fill
 * @param budget how many runs to measure: a fixed count ({@code --iterations N}) or a time
 *     ({@code --time S})
 * @param batchSizes the batch sizes measured, in this order; each positive, no repeats
 */
public record LatencyOptions(int warmupIterations, Budget budget, List<Integer> batchSizes) {
    /**
     * The most measured runs of each model at one batch size. NOTE: past this, more samples no
     * longer sharpen anything a person decides on, while the bootstrap's cost grows with them; a
     * time budget on a very fast model stops here.
     */
    public static final int MAX_ITERATIONS = 100_000;

    /**
     * The fewest measured runs of each model under a time budget, even when the budget is spent
     * sooner: with fewer, the Mann–Whitney test cannot reach α = 0.01 and every comparison would
     * read "no significant change" whatever the models do.
     */
    public static final int MIN_TIMED_ITERATIONS = 10;

    /**
     * @throws NullPointerException if budget or batchSizes is null, or a batch size is
     * @throws IllegalArgumentException if warmupIterations is negative, batchSizes is empty or
     *     holds a size that is not positive or appears twice
     */
    public LatencyOptions {
        Objects.requireNonNull(budget, "budget");
        batchSizes = List.copyOf(batchSizes);
        if (warmupIterations < 0) {
            throw new IllegalArgumentException("warm-up iterations must be 0 or more, got " + warmupIterations);
        }
        if (batchSizes.isEmpty()) {
            throw new IllegalArgumentException("at least one batch size is needed");
        }
        if (batchSizes.stream().anyMatch(b -> b <= 0)) {
            throw new IllegalArgumentException("batch sizes must be positive, got " + batchSizes);
        }
        if (batchSizes.stream().distinct().count() != batchSizes.size()) {
            throw new IllegalArgumentException("batch sizes must not repeat, got " + batchSizes);
        }
    }

    /**
     * @param warmupIterations unmeasured runs of each model per batch size
     * @param iterations measured runs of each model per batch size
     * @param batchSizes batch sizes
     * @return options with a fixed number of measured runs
     * @throws IllegalArgumentException as the constructors do
     */
    public static LatencyOptions iterations(int warmupIterations, int iterations, Integer... batchSizes) {
        return new LatencyOptions(warmupIterations, new Iterations(iterations), List.of(batchSizes));
    }

    /**
     * @param warmupIterations unmeasured runs of each model per batch size
     * @param time measuring time per batch size, both models together
     * @param batchSizes batch sizes
     * @return options with a time budget
     * @throws IllegalArgumentException as the constructors do
     */
    public static LatencyOptions timed(int warmupIterations, Duration time, Integer... batchSizes) {
        return new LatencyOptions(warmupIterations, new Time(time), List.of(batchSizes));
    }

    /** How many runs are measured at each batch size. */
    public sealed interface Budget permits Iterations, Time {
    }

    /**
     * Exactly {@code count} measured runs of each model.
     *
     * @param count runs per model, 1 to {@link #MAX_ITERATIONS}
     */
    public record Iterations(int count) implements Budget {
        /** @throws IllegalArgumentException if count is out of range */
        public Iterations {
            if (count < 1 || count > MAX_ITERATIONS) {
                throw new IllegalArgumentException("iterations must be 1 to " + MAX_ITERATIONS + ", got " + count);
            }
        }
    }

    /**
     * Rounds (one run of each model) until {@code duration} has passed, with at least
     * {@link #MIN_TIMED_ITERATIONS} and at most {@link #MAX_ITERATIONS} runs of each model.
     *
     * @param duration wall-clock time of the measured rounds at one batch size; positive
     */
    public record Time(Duration duration) implements Budget {
        /**
         * @throws NullPointerException if duration is null
         * @throws IllegalArgumentException if duration is not positive
         */
        public Time {
            Objects.requireNonNull(duration, "duration");
            if (duration.isNegative() || duration.isZero()) {
                throw new IllegalArgumentException("the time budget must be positive, got " + duration);
            }
        }
    }
}
