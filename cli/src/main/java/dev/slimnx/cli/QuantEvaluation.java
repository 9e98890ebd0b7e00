package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.metrics.Classification;
import dev.slimnx.validate.metrics.OutputErrorAccumulator;
import java.util.List;
import java.util.Map;

/**
 * Judges quantized variants of one model on the same batches, held in memory because the search
 * for nodes to keep in float evaluates many variants: top-1 of the first output against the
 * labels, and the SQNR of that output against the float model's.
 */
final class QuantEvaluation implements QuantizationSearch.Evaluator {
    private final List<Batch> batches;
    private final String output;
    private final RunOptions options;

    /**
     * @param batches the evaluation data
     * @param output the output judged (a classifier's logits)
     * @param options how variants run
     */
    QuantEvaluation(List<Batch> batches, String output, RunOptions options) {
        this.batches = List.copyOf(batches);
        this.output = output;
        this.options = options;
    }

    @Override
    public boolean labelled() {
        return !batches.isEmpty() && batches.getFirst().labels() != null;
    }

    /** @return items evaluated */
    long items() {
        return batches.stream().mapToLong(Batch::size).sum();
    }

    @Override
    public double top1(Model model) {
        long correct = 0;
        long total = 0;
        try (ModelRunner r = ModelRunner.open(model, options)) {
            for (Batch b : batches) {
                Tensor logits = r.run(b.inputs(), List.of(output)).get(output);
                int[] predicted = Classification.argmax(logits.toFloatArray(), b.size());
                for (int i = 0; i < b.size(); i++) {
                    correct += predicted[i] == b.labels()[i] ? 1 : 0;
                }
                total += b.size();
            }
        }
        return (double) correct / total;
    }

    @Override
    public double sqnrDb(Model reference, Model candidate) {
        OutputErrorAccumulator err = new OutputErrorAccumulator();
        try (ModelRunner a = ModelRunner.open(reference, options); ModelRunner b = ModelRunner.open(candidate, options)) {
            for (Batch batch : batches) {
                Map<String, Tensor> feeds = batch.inputs();
                err.add(a.run(feeds, List.of(output)).get(output).toFloatArray(),
                        b.run(feeds, List.of(output)).get(output).toFloatArray());
            }
        }
        return err.result().sqnrDb();
    }
}
