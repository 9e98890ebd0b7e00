package dev.slimnx.validate.data;

import java.util.ArrayList;
import java.util.List;

/**
 * NaViT's mixed-resolution evaluation stream (Patch n' Pack): each 28×28 test image is resized to
 * one of four sizes chosen by {@link SplitMix64}, cut into 7×7 patches, and consecutive images are
 * packed greedily into sequences of at most 128 tokens and 8 images. This is the exact algorithm of
 * {@code reference-models/recipes/synthetic.py}; see the "Deterministic data sets" section of
 * {@code reference-models/README.md}.
 */
public final class NavitStream {
    /** (height, width) of each size class; an image's class is {@code next() >>> 62}. */
    public static final int[][] SIZES = {{21, 28}, {28, 28}, {28, 21}, {35, 35}};
    /** Patch side in pixels. */
    public static final int PATCH = 7;
    /** Most tokens in one pack. */
    public static final int MAX_TOKENS = 128;
    /** Most images in one pack (the model's output slots). */
    public static final int MAX_IMAGES = 8;
    /** Seed of the evaluation stream ("NaViT" in ASCII). */
    public static final long EVAL_SEED = 0x4E61566954L;

    private NavitStream() {
    }

    /**
     * One pack: the model's four inputs for a sequence of {@code tokens} patches.
     *
     * @param patches [tokens, 49] pixel values, row-major per patch
     * @param posY patch row of each token
     * @param posX patch column of each token
     * @param imageIds index of each token's image within the pack (-1 for padding)
     * @param members stream indices of the images in the pack
     */
    public record Pack(float[] patches, long[] posY, long[] posX, long[] imageIds, int[] members) {
        /** @return tokens in the pack */
        public int tokens() {
            return posY.length;
        }

        /**
         * @param names the model's input names, in the order patches, pos_y, pos_x, image_ids
         * @return the pack as model inputs
         */
        public java.util.Map<String, dev.slimnx.graph.tensor.Tensor> feeds(java.util.List<String> names) {
            int s = tokens();
            return java.util.Map.of(
                    names.get(0), dev.slimnx.graph.tensor.Tensor.ofFloats(names.get(0), new long[] {s, PATCH * PATCH}, patches),
                    names.get(1), dev.slimnx.graph.tensor.Tensor.ofLongs(names.get(1), new long[] {s}, posY),
                    names.get(2), dev.slimnx.graph.tensor.Tensor.ofLongs(names.get(2), new long[] {s}, posX),
                    names.get(3), dev.slimnx.graph.tensor.Tensor.ofLongs(names.get(3), new long[] {s}, imageIds));
        }
    }

    /**
     * @param count images in the stream
     * @param seed stream seed
     * @return the size class of every image
     */
    public static int[] sizes(int count, long seed) {
        SplitMix64 rng = new SplitMix64(seed);
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = (int) (rng.next() >>> 62);
        }
        return out;
    }

    /** @return tokens an image of size class {@code s} becomes */
    public static int tokens(int s) {
        return (SIZES[s][0] / PATCH) * (SIZES[s][1] / PATCH);
    }

    /**
     * Greedy packing in stream order: a pack takes images while it stays within
     * {@link #MAX_TOKENS} tokens and {@link #MAX_IMAGES} images.
     *
     * @param sizes size class of every image
     * @return stream indices of each pack's images
     */
    public static List<int[]> pack(int[] sizes) {
        List<int[]> packs = new ArrayList<>();
        List<Integer> cur = new ArrayList<>();
        int tokens = 0;
        for (int i = 0; i < sizes.length; i++) {
            int t = tokens(sizes[i]);
            if (!cur.isEmpty() && (tokens + t > MAX_TOKENS || cur.size() == MAX_IMAGES)) {
                packs.add(cur.stream().mapToInt(Integer::intValue).toArray());
                cur.clear();
                tokens = 0;
            }
            cur.add(i);
            tokens += t;
        }
        if (!cur.isEmpty()) {
            packs.add(cur.stream().mapToInt(Integer::intValue).toArray());
        }
        return packs;
    }

    /**
     * Builds the model inputs for one pack.
     *
     * @param images 28×28 images, already preprocessed, row-major
     * @param sizes size class of every image
     * @param members stream indices of the pack's images
     * @param padTo pad with zero patches (image id -1) up to this many tokens; 0 for none
     * @return the pack
     */
    public static Pack build(float[][] images, int[] sizes, int[] members, int padTo) {
        int total = 0;
        for (int m : members) {
            total += tokens(sizes[m]);
        }
        int n = Math.max(total, padTo);
        float[] patches = new float[n * PATCH * PATCH];
        long[] posY = new long[n];
        long[] posX = new long[n];
        long[] ids = new long[n];
        java.util.Arrays.fill(ids, total, n, -1);
        int t = 0;
        for (int j = 0; j < members.length; j++) {
            int[] hw = SIZES[sizes[members[j]]];
            int[] ry = NearestResize.indices(hw[0], 28);
            int[] rx = NearestResize.indices(hw[1], 28);
            float[] img = images[members[j]];
            for (int gy = 0; gy < hw[0] / PATCH; gy++) {
                for (int gx = 0; gx < hw[1] / PATCH; gx++, t++) {
                    for (int py = 0; py < PATCH; py++) {
                        for (int px = 0; px < PATCH; px++) {
                            patches[t * PATCH * PATCH + py * PATCH + px] =
                                    img[ry[gy * PATCH + py] * 28 + rx[gx * PATCH + px]];
                        }
                    }
                    posY[t] = gy;
                    posX[t] = gx;
                    ids[t] = j;
                }
            }
        }
        return new Pack(patches, posY, posX, ids, members.clone());
    }
}
