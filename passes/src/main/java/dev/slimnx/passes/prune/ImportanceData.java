package dev.slimnx.passes.prune;

import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.quant.CalibrationData;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Calibration batches for data-driven importance, read in order and never held whole, each with
 * optional labels. Like {@link CalibrationData}, every call of {@link #batches()} starts again
 * from the first batch.
 */
@FunctionalInterface
public interface ImportanceData {
    /**
     * One batch.
     *
     * @param feeds inputs by graph input name
     * @param labels INT64 class labels of the output's shape without its class axis (one per image
     *     of a classifier), or null: then the criterion compares with the unpruned model's own
     *     outputs. A label outside the classes (-1 for a padding slot) matches none.
     */
    record Batch(Map<String, Tensor> feeds, Tensor labels) {
        /** Copies the feeds. */
        public Batch {
            feeds = Map.copyOf(Objects.requireNonNull(feeds, "feeds"));
        }
    }

    /** @return the batches, from the first */
    Iterator<Batch> batches();

    /** @return how many batches there are, or -1 when unknown until read (for progress only) */
    default long batchCount() {
        return -1;
    }

    /**
     * @param batches batches held in memory
     * @return data serving them in order
     */
    static ImportanceData of(List<Batch> batches) {
        List<Batch> copy = List.copyOf(batches);
        return new ImportanceData() {
            @Override
            public Iterator<Batch> batches() {
                return copy.iterator();
            }

            @Override
            public long batchCount() {
                return copy.size();
            }
        };
    }

    /**
     * @param data calibration feeds without labels
     * @return the same batches, unlabelled
     */
    static ImportanceData unlabelled(CalibrationData data) {
        Objects.requireNonNull(data, "data");
        return () -> {
            Iterator<Map<String, Tensor>> it = data.batches();
            return new Iterator<>() {
                @Override
                public boolean hasNext() {
                    return it.hasNext();
                }

                @Override
                public Batch next() {
                    return new Batch(it.next(), null);
                }
            };
        };
    }
}
