package dev.slimnx.validate.data;

import java.io.IOException;

/**
 * A source of model inputs read in batches, never whole, so a dataset of any size validates in
 * bounded memory. Every dataset kind (IDX, image folders, NPY/NPZ, synthetic) implements this.
 */
public interface Dataset extends AutoCloseable {
    /** @return items this dataset serves (after any limit), or -1 when unknown in advance */
    long size();

    /** @return true if batches carry labels */
    boolean labelled();

    /**
     * @param maxItems most items in the batch
     * @return the next batch, or null when the dataset is exhausted
     * @throws IOException if the data cannot be read; the message names the file and the problem
     */
    Batch next(int maxItems) throws IOException;

    @Override
    void close() throws IOException;
}
