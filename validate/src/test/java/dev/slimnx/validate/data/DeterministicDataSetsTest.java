package dev.slimnx.validate.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Java generators rebuild exactly the data the Python recipes trained and judged the reference
 * models on. Every expected value here was printed by {@code reference-models/recipes/synthetic.py}
 * (the recipes' own implementation), not by the code under test.
 */
class DeterministicDataSetsTest {
    static byte[][] images;
    static int[] labels;

    @BeforeAll
    static void loadTestSet() throws Exception {
        Path dir = Path.of("../reference-models/data");
        try (IdxFile im = IdxFile.open(dir.resolve("t10k-images-idx3-ubyte.gz"));
             IdxFile lb = IdxFile.open(dir.resolve("t10k-labels-idx1-ubyte.gz"))) {
            float[] px = new float[im.count() * 784];
            im.read(px, im.count());
            images = new byte[im.count()][784];
            for (int i = 0; i < px.length; i++) {
                images[i / 784][i % 784] = (byte) px[i];
            }
            float[] y = new float[lb.count()];
            lb.read(y, lb.count());
            labels = new int[y.length];
            for (int i = 0; i < y.length; i++) {
                labels[i] = (int) y[i];
            }
        }
    }

    @Test
    void splitMix64MatchesThePublishedSequence() {
        SplitMix64 r = new SplitMix64(0);
        assertEquals(0xe220a8397b1dcdafL, r.next());
        assertEquals(0x6e789e6aa1b965f4L, r.next());
        assertEquals(0x06c45d188009454fL, r.next());
        SplitMix64 d = new SplitMix64(DetectionCanvases.EVAL_SEED);
        int[] below = new int[5];
        for (int i = 0; i < 5; i++) {
            below[i] = d.below(10_000);
        }
        assertArrayEquals(new int[] {5211, 4141, 5597, 4025, 7313}, below);
    }

    @Test
    void nearestResizeIndices() {
        assertArrayEquals(new int[] {0, 2, 3, 4, 6, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 20, 22, 23, 24, 26, 27},
                NearestResize.indices(21, 28));
        assertArrayEquals(new int[] {0, 1, 2, 2, 3, 4, 5, 6, 6, 7, 8, 9, 10, 10, 11, 12, 13, 14, 14, 15, 16, 17, 18,
                18, 19, 20, 21, 22, 22, 23, 24, 25, 26, 26, 27}, NearestResize.indices(35, 28));
    }

    @Test
    void navitStreamAndPacking() {
        int[] sizes = NavitStream.sizes(10_000, NavitStream.EVAL_SEED);
        assertArrayEquals(new int[] {0, 2, 3, 2, 2, 1, 3, 2, 1, 2, 0, 1, 2, 0, 1, 2, 2, 1, 1, 2},
                java.util.Arrays.copyOf(sizes, 20));
        int[] counts = new int[4];
        for (int s : sizes) {
            counts[s]++;
        }
        assertArrayEquals(new int[] {2489, 2492, 2512, 2507}, counts);
        List<int[]> packs = NavitStream.pack(sizes);
        assertEquals(1377, packs.size());
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, packs.get(0));
        assertArrayEquals(new int[] {16, 17, 18, 19, 20, 21, 22, 23}, packs.get(2));
        assertArrayEquals(new int[] {9997, 9998, 9999}, packs.get(packs.size() - 1));

        float[][] raw = new float[images.length][];
        for (int i = 0; i < images.length; i++) {
            raw[i] = new float[784];
            for (int k = 0; k < 784; k++) {
                raw[i][k] = images[i][k] & 0xFF;
            }
        }
        NavitStream.Pack p = NavitStream.build(raw, sizes, packs.get(0), 128);
        assertEquals(128, p.tokens());
        double sum = 0;
        for (float v : p.patches()) {
            sum += v;
        }
        assertEquals(385447.0, sum);
        assertEquals(208, java.util.Arrays.stream(p.posY()).sum());
        assertEquals(190, java.util.Arrays.stream(p.posX()).sum());
        assertEquals(0, p.imageIds()[0]);
        assertEquals(7, p.imageIds()[125]);
        assertEquals(-1, p.imageIds()[126]);
        assertEquals(-1, p.imageIds()[127]);
    }

    @Test
    void detectionCanvasesMatchTheRecipe() throws Exception {
        List<DetectionCanvases.Canvas> canvases = DetectionCanvases.make(DetectionCanvases.EVAL_COUNT,
                DetectionCanvases.EVAL_SEED, images, labels);
        DetectionCanvases.Canvas c0 = canvases.get(0);
        assertEquals("756e1996f839071f", sha(c0.pixels()));
        assertArrayEquals(new int[] {3, 3, 4, 0}, c0.classes());
        assertArrayEquals(new float[] {0.671875f, 0.1875f, 0.25f, 0.25f}, c0.boxes()[0]);
        assertArrayEquals(new float[] {0.75f, 0.640625f, 0.21875f, 0.21875f}, c0.boxes()[3]);
        assertArrayEquals(new int[] {9}, canvases.get(3).classes());
        assertEquals("d7c40c45bdb19e9b", sha(canvases.get(3).pixels()));
        MessageDigest all = MessageDigest.getInstance("SHA-256");
        int objects = 0;
        for (DetectionCanvases.Canvas c : canvases) {
            all.update(c.pixels());
            objects += c.classes().length;
        }
        assertEquals("87548618be7f88d5", HexFormat.of().formatHex(all.digest()).substring(0, 16));
        assertEquals(2405, objects);
    }

    private static String sha(byte[] b) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)).substring(0, 16);
    }
}
