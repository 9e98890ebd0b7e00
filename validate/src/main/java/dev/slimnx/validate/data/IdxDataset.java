package dev.slimnx.validate.data;

import dev.slimnx.graph.tensor.Tensor;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;

/**
 * Labelled images from an IDX pair (MNIST, Fashion-MNIST), streamed: one batch of pixels is in
 * memory at a time. The gray images go through the same {@link ImageTransform} as image folders,
 * so {@code --resize}, {@code --crop} and a 3-channel model input work here too.
 */
public final class IdxDataset implements Dataset {
    private final IdxSource source;
    private final IdxFile images;
    private final IdxFile labels;
    private final ImageTarget target;
    private final int[] outSize;
    private final long size;
    private long served;

    /**
     * @param source the images and labels files
     * @param target the model input and transform
     * @param limit most items to serve, 0 for all
     * @throws DatasetException if the files are not IDX, the images are not [N, H, W], or the label
     *     count differs from the image count
     * @throws IOException if the files cannot be read
     */
    public IdxDataset(IdxSource source, ImageTarget target, int limit) throws IOException {
        this.source = source;
        this.target = target;
        this.images = IdxFile.open(source.images());
        IdxFile lb = null;
        try {
            lb = IdxFile.open(source.labels());
            if (images.itemDims().length != 2) {
                throw new DatasetException(source.images(), "expected images of rank 2 (rows, columns), got item dims "
                        + Arrays.toString(images.itemDims()));
            }
            if (lb.itemElements() != 1 || lb.count() != images.count()) {
                throw new DatasetException(source.labels(), lb.count() + " labels for " + images.count() + " images in "
                        + source.images().getFileName());
            }
            this.outSize = target.outputSize(images.itemDims()[0], images.itemDims()[1], source.images());
        } catch (IOException | RuntimeException e) {
            images.close();
            if (lb != null) {
                lb.close();
            }
            throw e;
        }
        this.labels = lb;
        this.size = limit > 0 ? Math.min(limit, images.count()) : images.count();
    }

    /** @return the files read */
    public IdxSource source() {
        return source;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean labelled() {
        return true;
    }

    @Override
    public Batch next(int maxItems) throws IOException {
        int n = (int) Math.min(maxItems, size - served);
        if (n <= 0) {
            return null;
        }
        int h = images.itemDims()[0];
        int w = images.itemDims()[1];
        float[] raw = new float[n * h * w];
        images.read(raw, n);
        int per = target.transform().channels() * outSize[0] * outSize[1];
        float[] out = new float[n * per];
        for (int i = 0; i < n; i++) {
            RawImage img = new RawImage(h, w, 1, Arrays.copyOfRange(raw, i * h * w, (i + 1) * h * w));
            target.transform().write(img.withChannels(target.transform().channels()), out, i * per);
        }
        float[] y = new float[n];
        labels.read(y, n);
        int[] classes = new int[n];
        for (int i = 0; i < n; i++) {
            classes[i] = (int) y[i];
        }
        served += n;
        String name = target.input().name();
        return new Batch(Map.of(name, Tensor.ofFloats(name, target.dims(n, outSize), out)), classes, n);
    }

    @Override
    public void close() throws IOException {
        try {
            images.close();
        } finally {
            labels.close();
        }
    }
}
