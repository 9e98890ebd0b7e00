package dev.slimnx.passes.quant;

import dev.slimnx.graph.tensor.Tensor;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Inputs to calibrate on, read in batches and never held whole (a ViT-B/16 calibration set of 512
 * images is 300 MB of float32). Each call of {@link #batches()} starts from the beginning, so a
 * pass may read the data more than once (sensitivity analysis does).
 */
@FunctionalInterface
public interface CalibrationData {
    /** @return the batches, from the first: feeds by graph input name */
    Iterator<Map<String, Tensor>> batches();

    /**
     * @param batches feeds held in memory (tests, small sets)
     * @return data that serves them in order
     */
    static CalibrationData of(List<Map<String, Tensor>> batches) {
        List<Map<String, Tensor>> copy = List.copyOf(batches);
        return copy::iterator;
    }
}
