package dev.slimnx.validate;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.IoInfo;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.metrics.ClassificationAccumulator;
import dev.slimnx.validate.metrics.OutputErrorAccumulator;
import dev.slimnx.validate.report.ValidationReport;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs a baseline and a candidate on the same batches and accumulates what differs: every
 * output's error, and for a classifier (an output of shape [batch, classes]) accuracy and
 * agreement. Both models see exactly the same input tensors, batch by batch.
 */
public final class AccuracyRun {
    /** Pass as {@code logitsOutput} to judge outputs only, with no output taken as logits. */
    public static final String NO_LOGITS = "";

    private AccuracyRun() {
    }

    /**
     * What the run found.
     *
     * @param items items evaluated
     * @param labelled whether the data had labels
     * @param accuracy classification figures of the first (or only) head, or null when none is judged
     * @param heads figures of every head judged, the first being {@code accuracy}
     * @param outputs per-output errors
     * @param detection detection figures, or null when the task is not detection
     */
    public record Result(long items, boolean labelled, ValidationReport.Accuracy accuracy,
                         List<ValidationReport.Accuracy> heads, List<ValidationReport.OutputError> outputs,
                         ValidationReport.Detection detection) {
    }

    /**
     * @param baseline the reference runner
     * @param candidate the runner judged; must have the baseline's inputs and outputs
     * @param data the data (consumed)
     * @param batchSize items per run
     * @param logitsOutput the output to judge as class logits, null to pick the first [batch, C] float
     *     output, or {@link #NO_LOGITS} for none
     * @param progress progress receiver
     * @return the figures
     * @throws IOException on data errors
     * @throws IllegalArgumentException if the models' signatures do not match
     */
    public static Result run(ModelRunner baseline, ModelRunner candidate, Dataset data, int batchSize,
                             String logitsOutput, Progress progress) throws IOException {
        String logits = NO_LOGITS.equals(logitsOutput) ? null : logitsOutput != null ? logitsOutput : pickLogits(baseline);
        Map<String, int[]> heads = new LinkedHashMap<>();
        if (logits != null) {
            heads.put(logits, null);
        }
        return runHeads(baseline, candidate, data, batchSize, heads, progress);
    }

    /**
     * Judges several classification heads at once, each against its own labelling of the items
     * (a multi-task model such as Memory ViT: one head per task).
     *
     * @param baseline the reference runner
     * @param candidate the runner judged
     * @param data the data (consumed)
     * @param batchSize items per run
     * @param heads logits output → map from the data's label to that head's label (null: the data's labels)
     * @param progress progress receiver
     * @return the figures; {@code accuracy} is the first head's
     * @throws IOException on data errors
     */
    public static Result runHeads(ModelRunner baseline, ModelRunner candidate, Dataset data, int batchSize,
                                  Map<String, int[]> heads, Progress progress) throws IOException {
        List<String> outputs = commonOutputs(baseline, candidate);
        for (String h : heads.keySet()) {
            if (!outputs.contains(h)) {
                throw new IllegalArgumentException("no output '" + h + "'; the outputs are " + outputs);
            }
        }
        Map<String, OutputErrorAccumulator> errors = new LinkedHashMap<>();
        outputs.forEach(o -> errors.put(o, new OutputErrorAccumulator()));
        Map<String, ClassificationAccumulator> cls = new LinkedHashMap<>();
        long items = 0;
        boolean labelled = false;
        for (Batch b; (b = data.next(batchSize)) != null; ) {
            Map<String, Tensor> a = baseline.run(b.inputs(), outputs);
            Map<String, Tensor> c = candidate.run(b.inputs(), outputs);
            for (String o : outputs) {
                if (isNumeric(a.get(o))) {
                    errors.get(o).add(a.get(o).toFloatArray(), c.get(o).toFloatArray());
                }
            }
            for (var head : heads.entrySet()) {
                Tensor la = a.get(head.getKey());
                int classes = (int) la.dims()[la.rank() - 1];
                cls.computeIfAbsent(head.getKey(), k -> new ClassificationAccumulator(classes))
                        .add(la.toFloatArray(), c.get(head.getKey()).toFloatArray(), relabel(b.labels(), head.getValue()), b.size());
            }
            labelled |= b.labels() != null;
            items += b.size();
            progress.update(items, data.size(), "accuracy");
        }
        List<ValidationReport.OutputError> out = new ArrayList<>();
        errors.forEach((name, acc) -> {
            var r = acc.result();
            out.add(new ValidationReport.OutputError(name, r.maxAbs(), r.meanAbs(), r.cosine(), r.sqnrDb(), r.identical()));
        });
        List<ValidationReport.Accuracy> judged = new ArrayList<>();
        cls.forEach((name, acc) -> {
            var r = acc.result();
            judged.add(new ValidationReport.Accuracy(name, r.perClassBaseline().length, r.baselineTop1(),
                    r.candidateTop1(), r.baselineTop5(), r.candidateTop5(), r.agreement(), r.top1Diff(),
                    new double[] {r.top1DiffLow(), r.top1DiffHigh()}, r.perClassBaseline(), r.perClassCandidate()));
        });
        return new Result(items, labelled, judged.isEmpty() ? null : judged.get(0), List.copyOf(judged), out, null);
    }

    private static int[] relabel(int[] labels, int[] map) {
        if (labels == null || map == null) {
            return labels;
        }
        int[] out = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= map.length) {
                throw new IllegalArgumentException("label " + labels[i] + " has no entry in the head's label map");
            }
            out[i] = map[labels[i]];
        }
        return out;
    }

    private static boolean isNumeric(Tensor t) {
        DataType d = t.dataType();
        return d != DataType.STRING && d != DataType.UNDEFINED && d != DataType.COMPLEX64 && d != DataType.COMPLEX128;
    }

    private static List<String> commonOutputs(ModelRunner baseline, ModelRunner candidate) {
        List<String> a = baseline.inputs().stream().map(IoInfo::name).sorted().toList();
        List<String> b = candidate.inputs().stream().map(IoInfo::name).sorted().toList();
        if (!a.equals(b)) {
            throw new IllegalArgumentException("the models take different inputs: baseline " + a + ", candidate " + b);
        }
        List<String> outs = baseline.outputs().stream().map(IoInfo::name).toList();
        List<String> candOuts = candidate.outputs().stream().map(IoInfo::name).toList();
        if (!candOuts.containsAll(outs)) {
            throw new IllegalArgumentException("the candidate lacks outputs of the baseline: baseline " + outs
                    + ", candidate " + candOuts);
        }
        return outs;
    }

    /** The first float output of rank 2 whose last dim is at least 2: what a classifier returns. */
    private static String pickLogits(ModelRunner runner) {
        for (IoInfo o : runner.outputs()) {
            long[] dims = o.isTensor() ? o.dims() : null;
            if (dims != null && dims.length == 2 && dims[1] >= 2 && o.elementType() == DataType.FLOAT) {
                return o.name();
            }
        }
        return null;
    }
}
