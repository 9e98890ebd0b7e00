package dev.slimnx.validate.data;

import java.util.ArrayList;
import java.util.List;

/**
 * DETR's detection set: 64×64 canvases holding 1 to 4 non-overlapping Fashion-MNIST items at
 * random positions and sizes (14 to 28 pixels), with boxes (cx, cy, w, h) normalised to [0, 1].
 * The exact algorithm of {@code reference-models/recipes/synthetic.py}, driven by
 * {@link SplitMix64}, so the evaluation set the model was judged on is rebuilt identically here.
 */
public final class DetectionCanvases {
    /** Canvas side. */
    public static final int CANVAS = 64;
    /** Seed of the evaluation set ("DETR" in ASCII). */
    public static final long EVAL_SEED = 0x44455452L;
    /** Canvases in the evaluation set. */
    public static final int EVAL_COUNT = 1000;
    private static final int MIN_SIZE = 14;
    private static final int SIZE_RANGE = 15;
    private static final int MAX_ITEMS = 4;
    private static final int ATTEMPTS = 20;

    private DetectionCanvases() {
    }

    /**
     * One canvas and its ground truth.
     *
     * @param pixels 64×64 uint8 values, row-major
     * @param boxes one (cx, cy, w, h) per object, normalised
     * @param classes one class per object
     */
    public record Canvas(byte[] pixels, float[][] boxes, int[] classes) {
    }

    /**
     * @param count canvases to make
     * @param seed generator seed
     * @param images 28×28 uint8 source images
     * @param labels their classes
     * @return the canvases
     */
    public static List<Canvas> make(int count, long seed, byte[][] images, int[] labels) {
        SplitMix64 rng = new SplitMix64(seed);
        List<Canvas> out = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            out.add(canvas(rng, images, labels));
        }
        return out;
    }

    private static Canvas canvas(SplitMix64 rng, byte[][] images, int[] labels) {
        byte[] canvas = new byte[CANVAS * CANVAS];
        int count = 1 + rng.below(MAX_ITEMS);
        List<int[]> placed = new ArrayList<>();
        List<Integer> classes = new ArrayList<>();
        for (int item = 0; item < count; item++) {
            for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
                int idx = rng.below(images.length);
                int s = MIN_SIZE + rng.below(SIZE_RANGE);
                int x0 = rng.below(CANVAS - s + 1);
                int y0 = rng.below(CANVAS - s + 1);
                if (free(placed, x0, y0, s)) {
                    int[] r = NearestResize.indices(s, 28);
                    for (int y = 0; y < s; y++) {
                        for (int x = 0; x < s; x++) {
                            canvas[(y0 + y) * CANVAS + x0 + x] = images[idx][r[y] * 28 + r[x]];
                        }
                    }
                    placed.add(new int[] {x0, y0, s});
                    classes.add(labels[idx]);
                    break;
                }
            }
        }
        float[][] boxes = new float[placed.size()][];
        for (int i = 0; i < boxes.length; i++) {
            int[] p = placed.get(i);
            float c = CANVAS;
            boxes[i] = new float[] {(float) ((p[0] + p[2] / 2.0) / c), (float) ((p[1] + p[2] / 2.0) / c), p[2] / c, p[2] / c};
        }
        return new Canvas(canvas, boxes, classes.stream().mapToInt(Integer::intValue).toArray());
    }

    /**
     * @param canvases canvases to batch
     * @param preprocessing pixel preprocessing
     * @param name input name
     * @return the model input [n, 1, 64, 64]
     */
    public static dev.slimnx.graph.tensor.Tensor input(List<Canvas> canvases, ImagePreprocessing preprocessing, String name) {
        int n = canvases.size();
        float[] x = new float[n * CANVAS * CANVAS];
        for (int i = 0; i < n; i++) {
            byte[] px = canvases.get(i).pixels();
            for (int k = 0; k < px.length; k++) {
                x[i * CANVAS * CANVAS + k] = px[k] & 0xFF;
            }
        }
        preprocessing.apply(x, n, 1);
        return dev.slimnx.graph.tensor.Tensor.ofFloats(name, new long[] {n, 1, CANVAS, CANVAS}, x);
    }

    private static boolean free(List<int[]> placed, int x0, int y0, int s) {
        for (int[] p : placed) {
            boolean apart = x0 + s <= p[0] || p[0] + p[2] <= x0 || y0 + s <= p[1] || p[1] + p[2] <= y0;
            if (!apart) {
                return false;
            }
        }
        return true;
    }
}
