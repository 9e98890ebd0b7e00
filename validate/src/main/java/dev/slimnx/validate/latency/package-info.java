/**
 * Latency of a baseline and a candidate model, measured the same way and compared with a
 * statistical test, so that a difference within timing noise is reported as no change.
 *
 * <p>{@link dev.slimnx.validate.latency.LatencyBenchmark} runs both models interleaved (A, B, then
 * B, A, …) after a warm-up, with the same inputs and runtime settings, and times each call.
 * {@link dev.slimnx.validate.latency.LatencyStats} summarizes one model at one batch size (mean,
 * p50, p90, p99, throughput); {@link dev.slimnx.validate.latency.LatencyComparison} gives the
 * speedup, a Mann–Whitney U test, a bootstrap confidence interval of the p50 ratio and a
 * {@link dev.slimnx.validate.latency.LatencyComparison.Verdict}. The method is described for
 * users in {@code docs/BENCHMARKS.md}, "Latency measurement method".
 */
package dev.slimnx.validate.latency;
