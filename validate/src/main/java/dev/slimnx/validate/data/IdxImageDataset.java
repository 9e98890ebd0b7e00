package dev.slimnx.validate.data;

import dev.slimnx.graph.tensor.Tensor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Labelled images from a pair of IDX files (MNIST, Fashion-MNIST), as NCHW float batches with one
 * channel, streamed: only one batch is in memory at a time.
 */
public final class IdxImageDataset implements AutoCloseable {
    private final IdxFile images;
    private final IdxFile labels;
    private final ImagePreprocessing preprocessing;
    private final int limit;
    private final String inputName;
    private int served;

    /**
     * @param imagesFile images, [N, H, W]
     * @param labelsFile labels, [N]
     * @param preprocessing applied to every image
     * @param limit the most items to serve, or 0 for all
     * @param inputName name given to the input tensors
     * @throws IOException if the files cannot be read or do not match
     */
    public IdxImageDataset(Path imagesFile, Path labelsFile, ImagePreprocessing preprocessing, int limit, String inputName)
            throws IOException {
        this.images = IdxFile.open(imagesFile);
        try {
            this.labels = IdxFile.open(labelsFile);
        } catch (IOException e) {
            images.close();
            throw e;
        }
        this.preprocessing = preprocessing;
        this.limit = limit <= 0 ? images.count() : Math.min(limit, images.count());
        this.inputName = inputName;
        if (images.itemDims().length != 2) {
            close();
            throw new DatasetException(imagesFile, "expected images of rank 2 (rows, columns), got dims "
                    + Arrays.toString(images.itemDims()));
        }
        if (labels.count() != images.count() || labels.itemElements() != 1) {
            close();
            throw new DatasetException(labelsFile, labels.count() + " labels for " + images.count() + " images");
        }
    }

    /** @return items this dataset serves */
    public int size() {
        return limit;
    }

    /**
     * @param batchSize most items in the batch
     * @return the next batch, or null when done
     * @throws IOException on read errors
     */
    public LabelledBatch next(int batchSize) throws IOException {
        int n = Math.min(batchSize, limit - served);
        if (n <= 0) {
            return null;
        }
        int h = images.itemDims()[0];
        int w = images.itemDims()[1];
        float[] pixels = new float[n * h * w];
        images.read(pixels, n);
        preprocessing.apply(pixels, n, 1);
        float[] raw = new float[n];
        labels.read(raw, n);
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = (int) raw[i];
        }
        served += n;
        return new LabelledBatch(Tensor.ofFloats(inputName, new long[] {n, 1, h, w}, pixels), y);
    }

    @Override
    public void close() throws IOException {
        try {
            images.close();
        } finally {
            if (labels != null) {
                labels.close();
            }
        }
    }
}
