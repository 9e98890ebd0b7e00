package dev.slimnx.validate.data;

import dev.slimnx.graph.tensor.Tensor;

/**
 * A batch of model input with its labels.
 *
 * @param input the input tensor, batch first
 * @param labels one label per item
 */
public record LabelledBatch(Tensor input, int[] labels) {
    /** @return items in the batch */
    public int size() {
        return labels.length;
    }
}
