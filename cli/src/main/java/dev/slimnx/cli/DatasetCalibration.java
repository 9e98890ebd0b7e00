package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.quant.CalibrationData;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Iterator;
import java.util.Map;
import java.util.NoSuchElementException;

/**
 * Calibration data read from a dataset (the {@code --calib} option and its data options), streamed
 * batch by batch: each pass over it reopens the dataset, so nothing but one batch is in memory.
 */
final class DatasetCalibration implements CalibrationData {
    private final DataSpec spec;
    private final Model model;
    private final int items;
    private final int batchSize;

    /**
     * @param spec where the data is and how to prepare it
     * @param model the model whose inputs the data feeds
     * @param items most items to read (0: all)
     * @param batchSize items per batch
     */
    DatasetCalibration(DataSpec spec, Model model, int items, int batchSize) {
        this.spec = spec;
        this.model = model;
        this.items = items;
        this.batchSize = batchSize;
    }

    /**
     * Opens the data once to fail early, with the file named, if it cannot be read.
     *
     * @return this
     * @throws IOException when the data cannot be opened
     */
    DatasetCalibration check() throws IOException {
        try (Dataset d = Datasets.open(spec, model, "train")) {
            if (d.next(1) == null) {
                throw new UserError((spec.source() == null ? "synthetic data" : spec.source().toString())
                        + ": no items to calibrate on");
            }
        }
        return this;
    }

    @Override
    public Iterator<Map<String, Tensor>> batches() {
        Dataset d;
        try {
            d = Datasets.open(spec, model, "train");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new Iterator<>() {
            private Batch next = read();
            private int served;

            private Batch read() {
                try {
                    int want = items > 0 ? Math.min(batchSize, items - served) : batchSize;
                    Batch b = want <= 0 ? null : d.next(want);
                    if (b == null) {
                        d.close();
                    }
                    return b;
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public boolean hasNext() {
                return next != null;
            }

            @Override
            public Map<String, Tensor> next() {
                if (next == null) {
                    throw new NoSuchElementException();
                }
                Batch b = next;
                served += b.size();
                next = read();
                return b.inputs();
            }
        };
    }
}
