package dev.slimnx.validate.latency;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntFunction;
import java.util.function.LongSupplier;

/**
 * Measures a baseline and a candidate model the same way and compares them.
 *
 * <pre>{@code
 * LatencyBenchmark bench = new LatencyBenchmark(LatencyOptions.iterations(20, 200, 1, 8));
 * LatencyResult r = bench.compare(baseline, candidate, RunOptions.defaults(), batch -> feedsOf(batch));
 * r.at(8).comparison().verdict();   // FASTER, SLOWER or NO_SIGNIFICANT_CHANGE
 * }</pre>
 *
 * <p>At each batch size, in the order given:
 * <ol>
 *   <li>the caller's function builds the inputs once; both models get the very same tensors, and
 *       nothing is built inside the timed region;
 *   <li>warm-up: {@link LatencyOptions#warmupIterations()} unmeasured rounds;
 *   <li>measurement: rounds until the budget is spent. A round runs each model once, timed with
 *       {@link System#nanoTime()} around the {@link ModelRunner#run(Map)} call alone; even rounds
 *       run the baseline first, odd rounds the candidate first.
 * </ol>
 *
 * <p>Why interleave: noise on a shared machine comes in bursts (another process, a GC, the clock
 * slowing down), and measuring all of A and then all of B would charge a burst to one model only.
 * Interleaved, both models see the same conditions, and a burst widens both distributions instead
 * of shifting one. Alternating which model goes first cancels what the first run of a round does
 * to the second (evicting its weights from the cache, or warming shared code for it).
 *
 * <p>A measured call is what a slimnx user's call costs: besides ONNX Runtime's own work it
 * includes the copy of the inputs into ONNX Runtime and of the outputs back to heap tensors, which
 * is the same for two models with the same inputs and outputs. On CUDA the call returns once the
 * outputs are back in host memory, so the time includes the GPU's work and the transfers.
 */
public final class LatencyBenchmark {
    private final LatencyOptions options;
    private final LatencyComparison.Criteria criteria;

    /**
     * @param options warm-up, budget and batch sizes
     * @param criteria when a difference counts
     */
    public LatencyBenchmark(LatencyOptions options, LatencyComparison.Criteria criteria) {
        this.options = Objects.requireNonNull(options, "options");
        this.criteria = Objects.requireNonNull(criteria, "criteria");
    }

    /** @param options warm-up, budget and batch sizes; criteria are {@link LatencyComparison.Criteria#defaults()} */
    public LatencyBenchmark(LatencyOptions options) {
        this(options, LatencyComparison.Criteria.defaults());
    }

    /** @return the options */
    public LatencyOptions options() {
        return options;
    }

    /** @return the criteria */
    public LatencyComparison.Criteria criteria() {
        return criteria;
    }

    /**
     * Opens both models with the same options, measures them and closes them.
     *
     * @param baseline the reference model
     * @param candidate the model judged against it
     * @param runOptions provider, threads and optimization level for both
     * @param feeds inputs for a batch size: one tensor per input name, accepted by both models
     * @return the measurements and comparisons
     * @throws dev.slimnx.runtime.RuntimeFailure if a model cannot be opened or run
     */
    public LatencyResult compare(Model baseline, Model candidate, RunOptions runOptions,
                                 IntFunction<Map<String, Tensor>> feeds) {
        Objects.requireNonNull(runOptions, "runOptions");
        try (ModelRunner a = ModelRunner.open(baseline, runOptions);
             ModelRunner b = ModelRunner.open(candidate, runOptions)) {
            return compare(a, b, feeds);
        }
    }

    /**
     * Measures two open models. They must have been opened with equal {@link RunOptions}, so
     * the comparison is about the models and not about their settings.
     *
     * @param baseline the reference model's runner
     * @param candidate the judged model's runner
     * @param feeds inputs for a batch size: one tensor per input name, accepted by both models;
     *     called once per batch size, before any measuring
     * @return the measurements and comparisons
     * @throws IllegalArgumentException if the runners' options differ
     * @throws NullPointerException if feeds returns null
     * @throws dev.slimnx.runtime.RuntimeFailure if a model refuses the inputs or fails to run
     */
    public LatencyResult compare(ModelRunner baseline, ModelRunner candidate, IntFunction<Map<String, Tensor>> feeds) {
        Objects.requireNonNull(baseline, "baseline");
        Objects.requireNonNull(candidate, "candidate");
        Objects.requireNonNull(feeds, "feeds");
        if (!baseline.options().equals(candidate.options())) {
            throw new IllegalArgumentException("baseline and candidate must run with the same options, got "
                    + baseline.options() + " and " + candidate.options());
        }
        List<BatchLatency> batches = new ArrayList<>();
        for (int batch : options.batchSizes()) {
            Map<String, Tensor> in = Objects.requireNonNull(feeds.apply(batch), () -> "no inputs for batch size " + batch);
            long[][] samples = measure(() -> baseline.run(in), () -> candidate.run(in), System::nanoTime);
            LatencyStats a = LatencyStats.of(batch, samples[0]);
            LatencyStats b = LatencyStats.of(batch, samples[1]);
            batches.add(new BatchLatency(batch, a, b, LatencyComparison.compare(a, b, criteria)));
        }
        return new LatencyResult(baseline.options(), options, batches);
    }

    /**
     * The measuring loop, apart from models so that its order and budget can be tested.
     *
     * @param baseline one call of the baseline
     * @param candidate one call of the candidate
     * @param clock nanoseconds, as {@link System#nanoTime()}
     * @return {baseline samples, candidate samples}, in nanoseconds, equally many
     */
    long[][] measure(Runnable baseline, Runnable candidate, LongSupplier clock) {
        // NOTE: both models go through one call site, picked by index, so the JIT compiles one
        // path for both. With a branch per model we saw, in some JVMs, one role measure 5-13%
        // slower than an identical session of the same model for dozens of runs in a row; we could
        // not pin the cause down, and this loop has not shown it since.
        Runnable[] calls = {baseline, candidate};
        for (int round = 0; round < options.warmupIterations(); round++) {
            int first = round & 1;
            calls[first].run();
            calls[first ^ 1].run();
        }
        int wanted;
        long budgetNanos;
        switch (options.budget()) {
            case LatencyOptions.Iterations it -> {
                wanted = it.count();
                budgetNanos = Long.MAX_VALUE;
            }
            case LatencyOptions.Time t -> {
                wanted = LatencyOptions.MAX_ITERATIONS;
                // NOTE: saturates instead of overflowing for budgets past 292 years
                budgetNanos = t.duration().compareTo(Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE
                        : t.duration().toNanos();
            }
        }
        long[][] samples = new long[2][Math.min(wanted, 1024)];
        long start = clock.getAsLong();
        int n = 0;
        while (n < wanted) {
            if (n == samples[0].length) {
                int grown = Math.min(2 * n, LatencyOptions.MAX_ITERATIONS);
                samples[0] = Arrays.copyOf(samples[0], grown);
                samples[1] = Arrays.copyOf(samples[1], grown);
            }
            int first = n & 1;
            for (int k = 0; k < 2; k++) {
                int who = first ^ k;
                long t0 = clock.getAsLong();
                calls[who].run();
                samples[who][n] = clock.getAsLong() - t0;
            }
            n++;
            // NOTE: elapsed time, not the sum of samples, is the budget, so the loop's own overhead
            // cannot stretch a run past what the user allowed
            if (n >= LatencyOptions.MIN_TIMED_ITERATIONS && clock.getAsLong() - start >= budgetNanos) {
                break;
            }
        }
        return new long[][] {Arrays.copyOf(samples[0], n), Arrays.copyOf(samples[1], n)};
    }
}
