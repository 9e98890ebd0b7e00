package dev.slimnx.validate.report;

import dev.slimnx.validate.gate.Gate;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Everything one validation run found: the source of truth every report format is rendered from.
 * Serialized as JSON with schema {@value #SCHEMA} (documented in docs/validate-report.md).
 *
 * @param schema {@value #SCHEMA}
 * @param created when the run finished (ISO-8601)
 * @param baseline the reference model
 * @param candidate the model judged
 * @param runtime how both ran
 * @param data what they ran on
 * @param accuracy classification figures of the first head, or null when the task has none
 * @param heads figures of every classification head judged (several for a multi-task model)
 * @param detection detection figures (mAP of each model), or null when the task is not detection
 * @param outputs per-output error of candidate vs baseline
 * @param latency interleaved latency per batch size (empty when not measured)
 * @param gates gate outcomes, in the order given
 * @param passed true when every gate passed
 */
public record ValidationReport(String schema, String created, ModelFacts baseline, ModelFacts candidate,
                               RuntimeFacts runtime, DataFacts data, Accuracy accuracy, List<Accuracy> heads, Detection detection, List<OutputError> outputs,
                               List<LatencyFacts> latency, List<GateOutcome> gates, boolean passed) {
    /** Version of the JSON schema. */
    public static final String SCHEMA = "slimnx.validate/1";

    /**
     * @param provider execution provider ({@code cpu}, {@code cuda})
     * @param threads intra-op threads (0 = ONNX Runtime's default)
     * @param optimization ONNX Runtime graph optimization level
     * @param onnxruntime ONNX Runtime version
     */
    public record RuntimeFacts(String provider, int threads, String optimization, String onnxruntime) {
    }

    /**
     * @param source data source (path, or "synthetic")
     * @param items items evaluated
     * @param labelled whether labels were available
     */
    public record DataFacts(String source, long items, boolean labelled) {
    }

    /**
     * @param output the logits output judged
     * @param classes number of classes
     * @param baselineTop1 baseline top-1 (fraction)
     * @param candidateTop1 candidate top-1
     * @param baselineTop5 baseline top-5
     * @param candidateTop5 candidate top-5
     * @param agreement argmax agreement of candidate with baseline
     * @param top1Diff candidate − baseline top-1 (fraction)
     * @param top1DiffCi95 95% interval of the difference (paired)
     * @param perClassBaseline per-class top-1 of the baseline
     * @param perClassCandidate per-class top-1 of the candidate
     */
    public record Accuracy(String output, int classes, double baselineTop1, double candidateTop1, double baselineTop5,
                           double candidateTop5, double agreement, double top1Diff, double[] top1DiffCi95,
                           double[] perClassBaseline, double[] perClassCandidate) {
    }

    /**
     * Detection quality of both models on the same images (COCO-style mAP, see
     * {@code dev.slimnx.validate.metrics.MeanAveragePrecision}).
     *
     * @param baselineMap50 baseline mAP at IoU 0.5
     * @param candidateMap50 candidate mAP at IoU 0.5
     * @param baselineMap50to95 baseline mAP averaged over IoU 0.50..0.95
     * @param candidateMap50to95 candidate mAP averaged over IoU 0.50..0.95
     */
    public record Detection(double baselineMap50, double candidateMap50, double baselineMap50to95,
                            double candidateMap50to95) {
    }

    /**
     * @param name output name
     * @param maxAbs largest absolute difference
     * @param meanAbs mean absolute difference
     * @param cosine cosine similarity
     * @param sqnrDb signal-to-quantization-noise ratio in dB (Infinity when identical)
     * @param identical whether every element is equal
     */
    public record OutputError(String name, double maxAbs, double meanAbs, double cosine, double sqnrDb, boolean identical) {
    }

    /**
     * Latency of both models at one batch size.
     *
     * @param batch batch size
     * @param baseline baseline statistics
     * @param candidate candidate statistics
     * @param p50Speedup baseline p50 / candidate p50
     * @param p50SpeedupCi95 bootstrap 95% interval of that ratio
     * @param throughputRatio candidate / baseline items per second
     * @param verdict {@code faster}, {@code slower} or {@code no significant change}
     * @param pValue two-sided Mann–Whitney U p-value
     */
    public record LatencyFacts(int batch, Timing baseline, Timing candidate, double p50Speedup, double[] p50SpeedupCi95,
                               double throughputRatio, String verdict, double pValue) {
    }

    /**
     * @param samples timed runs
     * @param meanMs mean latency
     * @param p50Ms median
     * @param p90Ms 90th percentile
     * @param p99Ms 99th percentile
     * @param throughput items per second
     * @param samplesMs every timed run, for the charts
     */
    public record Timing(int samples, double meanMs, double p50Ms, double p90Ms, double p99Ms, double throughput,
                         double[] samplesMs) {
    }

    /**
     * @param expression the gate as given
     * @param value the field's value
     * @param passed whether it held
     * @param message one line for people
     */
    public record GateOutcome(String expression, double value, boolean passed, String message) {
        /** @return the outcome of an evaluated gate */
        public static GateOutcome of(Gate.Result r) {
            return new GateOutcome(r.gate().expression(), r.value(), r.passed(), r.message());
        }
    }

    /**
     * The fields gates may name, flattened from the report. Accuracies are in percentage points
     * ({@code top1_drop} = baseline − candidate, so positive means the candidate lost accuracy);
     * ratios are candidate / baseline except speedups, which are baseline time / candidate time.
     * {@code p50_speedup} is at the first batch size measured; {@code p50_speedup@B} at batch B;
     * {@code top1_drop:OUTPUT} (and {@code top1_candidate:}, {@code agreement:}) for each head.
     *
     * @return field name → value (NaN when not measured)
     */
    public Map<String, Double> gateFields() {
        Map<String, Double> f = new LinkedHashMap<>();
        double nan = Double.NaN;
        f.put("top1_baseline", accuracy == null ? nan : 100 * accuracy.baselineTop1());
        f.put("top1_candidate", accuracy == null ? nan : 100 * accuracy.candidateTop1());
        f.put("top1_drop", accuracy == null ? nan : 100 * (accuracy.baselineTop1() - accuracy.candidateTop1()));
        f.put("top5_drop", accuracy == null ? nan : 100 * (accuracy.baselineTop5() - accuracy.candidateTop5()));
        f.put("agreement", accuracy == null ? nan : accuracy.agreement());
        for (Accuracy h : heads) {
            f.put("top1_candidate:" + h.output(), 100 * h.candidateTop1());
            f.put("top1_drop:" + h.output(), 100 * (h.baselineTop1() - h.candidateTop1()));
            f.put("agreement:" + h.output(), h.agreement());
        }
        f.put("map50_candidate", detection == null ? nan : 100 * detection.candidateMap50());
        f.put("map50_drop", detection == null ? nan : 100 * (detection.baselineMap50() - detection.candidateMap50()));
        f.put("map50_95_drop", detection == null ? nan
                : 100 * (detection.baselineMap50to95() - detection.candidateMap50to95()));
        f.put("size_ratio", ratio(candidate.bytes(), baseline.bytes()));
        f.put("params_ratio", ratio(candidate.params(), baseline.params()));
        f.put("macs_ratio", ratio(candidate.macs(), baseline.macs()));
        f.put("max_abs_error", outputs.stream().mapToDouble(OutputError::maxAbs).max().orElse(nan));
        f.put("mean_abs_error", outputs.stream().mapToDouble(OutputError::meanAbs).max().orElse(nan));
        f.put("cosine_min", outputs.stream().mapToDouble(OutputError::cosine).min().orElse(nan));
        f.put("sqnr_db_min", outputs.stream().mapToDouble(OutputError::sqnrDb).min().orElse(nan));
        f.put("p50_speedup", latency.isEmpty() ? nan : latency.get(0).p50Speedup());
        f.put("throughput_ratio", latency.isEmpty() ? nan : latency.get(0).throughputRatio());
        for (LatencyFacts l : latency) {
            f.put("p50_speedup@" + l.batch(), l.p50Speedup());
            f.put("throughput_ratio@" + l.batch(), l.throughputRatio());
        }
        return f;
    }

    /**
     * @return op type → candidate count − baseline count, for the op types whose count changed,
     *     sorted by op type
     */
    public java.util.SortedMap<String, Integer> opDeltas() {
        java.util.SortedMap<String, Integer> out = new java.util.TreeMap<>();
        java.util.Set<String> ops = new java.util.TreeSet<>(baseline.ops().keySet());
        ops.addAll(candidate.ops().keySet());
        for (String op : ops) {
            int d = candidate.ops().getOrDefault(op, 0) - baseline.ops().getOrDefault(op, 0);
            if (d != 0) {
                out.put(op, d);
            }
        }
        return out;
    }

    private static double ratio(double candidate, double baseline) {
        return baseline == 0 ? Double.NaN : candidate / baseline;
    }

    /**
     * @param results gate outcomes to record
     * @return this report with the gates and the overall verdict set
     */
    public ValidationReport withGates(List<Gate.Result> results) {
        List<GateOutcome> outcomes = new ArrayList<>();
        boolean ok = true;
        for (Gate.Result r : results) {
            outcomes.add(GateOutcome.of(r));
            ok &= r.passed();
        }
        return new ValidationReport(schema, created, baseline, candidate, runtime, data, accuracy, heads, detection, outputs, latency,
                List.copyOf(outcomes), ok);
    }
}
