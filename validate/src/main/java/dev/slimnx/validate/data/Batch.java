package dev.slimnx.validate.data;

import dev.slimnx.graph.tensor.Tensor;
import java.util.Map;

/**
 * One batch of model inputs, batch dimension first, with optional labels.
 *
 * @param inputs input name → tensor (every tensor has {@code size} as its first dim)
 * @param labels one class label per item, or null for unlabelled data
 * @param size items in the batch
 */
public record Batch(Map<String, Tensor> inputs, int[] labels, int size) {
    public Batch {
        inputs = Map.copyOf(inputs);
        if (labels != null && labels.length != size) {
            throw new IllegalArgumentException(labels.length + " labels for a batch of " + size);
        }
    }
}
