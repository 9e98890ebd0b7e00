package dev.slimnx.validate.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A whole labelled image set in memory as raw 8-bit pixels, for the evaluations that build their
 * inputs from many images at once (NaViT packs, DETR canvases). Fashion-MNIST's test set takes 7.8 MB.
 *
 * @param pixels one row-major image per item, raw 0..255 values
 * @param labels one class per item
 * @param height image height
 * @param width image width
 */
public record LabelledImages(byte[][] pixels, int[] labels, int height, int width) {

    /**
     * @param images IDX images file
     * @param labels IDX labels file
     * @return the set
     * @throws IOException if the files cannot be read or do not match
     */
    public static LabelledImages read(Path images, Path labels) throws IOException {
        try (IdxFile im = IdxFile.open(images); IdxFile lb = IdxFile.open(labels)) {
            if (im.itemDims().length != 2 || lb.count() != im.count()) {
                throw new DatasetException(images, "expected [N, H, W] images with N labels beside them");
            }
            int h = im.itemDims()[0];
            int w = im.itemDims()[1];
            byte[][] px = new byte[im.count()][h * w];
            float[] buf = new float[h * w * 256];
            for (int start = 0; start < im.count(); ) {
                int n = im.read(buf, 256);
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < h * w; k++) {
                        px[start + i][k] = (byte) buf[i * h * w + k];
                    }
                }
                start += n;
            }
            float[] y = new float[lb.count()];
            lb.read(y, lb.count());
            int[] out = new int[y.length];
            for (int i = 0; i < y.length; i++) {
                out[i] = (int) y[i];
            }
            return new LabelledImages(px, out, h, w);
        }
    }

    /** @return number of images */
    public int size() {
        return labels.length;
    }

    /**
     * @param preprocessing applied to every pixel
     * @return the images as preprocessed floats
     */
    public float[][] preprocessed(ImagePreprocessing preprocessing) {
        float[][] out = new float[pixels.length][];
        for (int i = 0; i < pixels.length; i++) {
            out[i] = new float[pixels[i].length];
            for (int k = 0; k < out[i].length; k++) {
                out[i][k] = pixels[i][k] & 0xFF;
            }
            preprocessing.apply(out[i], 1, 1);
        }
        return out;
    }
}
