package dev.slimnx.validate;

import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.metrics.Classification;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/** Top-1 accuracy of a classifier over a labelled image dataset, through ONNX Runtime. */
public final class ClassificationEvaluator {
    private ClassificationEvaluator() {
    }

    /**
     * @param runner the model
     * @param outputName the logits output
     * @param data the dataset (consumed)
     * @param batchSize items per run
     * @return top-1 accuracy in [0, 1]
     * @throws IOException on data errors
     */
    public static double top1(ModelRunner runner, String outputName, Dataset data, int batchSize)
            throws IOException {
        long correct = 0;
        long total = 0;
        for (Batch b; (b = data.next(batchSize)) != null; ) {
            Map<String, Tensor> out = runner.run(b.inputs(), List.of(outputName));
            int[] predicted = Classification.argmax(out.get(outputName).toFloatArray(), b.size());
            for (int i = 0; i < predicted.length; i++) {
                if (predicted[i] == b.labels()[i]) {
                    correct++;
                }
            }
            total += b.size();
        }
        return total == 0 ? Double.NaN : (double) correct / total;
    }
}
