package dev.slimnx.validate.data;

import static dev.slimnx.validate.data.DataFixtures.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ImageFolderDatasetTest {
    @TempDir
    Path dir;

    private final Model rgb = model("x", DataType.FLOAT, "batch", 3, 2, 2);

    private static BufferedImage rgbImage(int h, int w, int[][] rgbAt) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int[] p = rgbAt[y * w + x];
                img.setRGB(x, y, (p[0] << 16) | (p[1] << 8) | p[2]);
            }
        }
        return img;
    }

    private static Path write(BufferedImage img, Path file) throws Exception {
        Files.createDirectories(file.getParent());
        String format = file.toString().endsWith(".png") ? "png" : "jpg";
        if (!ImageIO.write(img, format, file.toFile())) {
            throw new IllegalStateException("no writer for " + format);
        }
        return file;
    }

    /** A 4×6 image: R = 8y + 2x, G = 100, B = 255 - R. */
    private static BufferedImage gradient() {
        int[][] px = new int[24][];
        for (int y = 0; y < 4; y++) {
            for (int x = 0; x < 6; x++) {
                int r = 8 * y + 2 * x;
                px[y * 6 + x] = new int[] {r, 100, 255 - r};
            }
        }
        return rgbImage(4, 6, px);
    }

    private DataFixtures.Spec resizeCropNormalise() {
        DataFixtures.Spec s = new DataFixtures.Spec(dir);
        s.resize = 2;
        s.crop = 2;
        s.mean = List.of(5.0, 100.0, 30.0);
        s.std = List.of(2.0, 4.0, 10.0);
        return s;
    }

    @Test
    void aPngIsResizedCroppedAndNormalisedAsComputedByHand() throws Exception {
        write(gradient(), dir.resolve("cat/a.png"));
        // resize 2: 4x6 -> 2x3, each value the mean of a 2x2 block (the scale is exactly 2, so
        // bilinear with half-pixel centres averages pairs): R = 16Y + 4X + 5, B = 255 - R.
        // crop 2: left = round-half-even((3 - 2) / 2) = 0. R: 5 9 / 21 25 -> (R - 5) / 2 = 0 2 8 10;
        // G: (100 - 100) / 4 = 0; B: 250 246 234 230 -> (B - 30) / 10 = 22 21.6 20.4 20.
        try (Dataset d = Datasets.open(resizeCropNormalise().build(), rgb, "test")) {
            Tensor x = d.next(4).inputs().get("x");
            assertArrayEquals(new long[] {1, 3, 2, 2}, x.dims());
            assertArrayEquals(new float[] {0, 2, 8, 10, 0, 0, 0, 0, 22, 21.6f, 20.4f, 20}, x.toFloatArray(), 1e-5f);
        }
        DataFixtures.Spec s = resizeCropNormalise();
        s.layout = "NHWC";
        try (Dataset d = Datasets.open(s.build(), model("x", DataType.FLOAT, "batch", 2, 2, 3), "test")) {
            Tensor x = d.next(4).inputs().get("x");
            assertArrayEquals(new long[] {1, 2, 2, 3}, x.dims());
            assertArrayEquals(new float[] {0, 0, 22, 2, 0, 21.6f, 8, 0, 20.4f, 10, 0, 20}, x.toFloatArray(), 1e-5f);
        }
    }

    @Test
    void threeClassesOfPngAndJpegAreLabelledBySortedFolderNameRoundRobin() throws Exception {
        int[][] px = {{10, 20, 30}, {10, 20, 30}, {10, 20, 30}, {10, 20, 30}};
        write(rgbImage(2, 2, px), dir.resolve("b-dog/1.png"));
        write(rgbImage(2, 2, px), dir.resolve("b-dog/2.jpg"));
        write(rgbImage(2, 2, px), dir.resolve("a-cat/1.jpeg"));
        write(rgbImage(2, 2, px), dir.resolve("c-eel/1.PNG"));
        Files.writeString(dir.resolve("c-eel/notes.txt"), "not an image");
        try (ImageFolderDataset d = (ImageFolderDataset) Datasets.open(new DataFixtures.Spec(dir).build(), rgb, "test")) {
            assertEquals(List.of("a-cat", "b-dog", "c-eel"), d.classes());
            assertEquals(4, d.size());
            Batch b = d.next(10);
            assertArrayEquals(new int[] {0, 1, 2, 1}, b.labels());
            float[] x = b.inputs().get("x").toFloatArray();
            // item 2 is c-eel/1.PNG, exact (items 0 and 3 are lossy JPEGs): R, G, B planes of 2x2
            assertEquals(10f, x[2 * 12], 0f);
            assertEquals(20f, x[2 * 12 + 4], 0f);
            assertEquals(30f, x[2 * 12 + 8], 0f);
        }
    }

    @Test
    void aGrayModelGetsPilLumaAndGrayFilesKeepTheirValues() throws Exception {
        write(rgbImage(1, 1, new int[][] {{10, 200, 30}}), dir.resolve("a/rgb.png"));
        BufferedImage g = new BufferedImage(1, 1, BufferedImage.TYPE_BYTE_GRAY);
        g.getRaster().setSample(0, 0, 0, 100);
        write(g, dir.resolve("b/gray.png"));
        try (Dataset d = Datasets.open(new DataFixtures.Spec(dir).build(), model("x", DataType.FLOAT, "n", 1, 1, 1), "test")) {
            // (19595*10 + 38470*200 + 7471*30 + 32768) >> 16 = 124; gray 100 read raw, not gamma-converted
            assertArrayEquals(new float[] {124, 100}, d.next(2).inputs().get("x").toFloatArray());
        }
    }

    @Test
    void aLargeFolderIsDecodedOneBatchAtATime() throws Exception {
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(rgbImage(2, 2, new int[][] {{1, 2, 3}, {1, 2, 3}, {1, 2, 3}, {1, 2, 3}}), "png", png);
        int perClass = 700;
        for (String c : List.of("a", "b", "c")) {
            Files.createDirectories(dir.resolve(c));
            for (int i = 0; i < perClass; i++) {
                Files.write(dir.resolve(c).resolve(String.format("%04d.png", i)), png.toByteArray());
            }
        }
        AtomicInteger decoded = new AtomicInteger();
        ImageDecoder counting = f -> {
            decoded.incrementAndGet();
            return ImageDecoder.imageIo().decode(f);
        };
        DataSpec spec = new DataFixtures.Spec(dir).build();
        int[] perLabel = new int[3];
        try (Dataset d = new ImageFolderDataset(dir, ImageTarget.of(spec, rgb, 3, dir), 0, counting)) {
            assertEquals(0, decoded.get(), "nothing is decoded before the first batch");
            assertEquals(3L * perClass, d.size());
            for (Batch b; (b = d.next(64)) != null; ) {
                assertEquals(b.size(), decoded.getAndSet(0), "a batch decodes exactly its own images");
                for (int y : b.labels()) {
                    perLabel[y]++;
                }
            }
        }
        assertArrayEquals(new int[] {perClass, perClass, perClass}, perLabel);
    }

    @Test
    void aLimitTakesItemsFromEveryClass() throws Exception {
        int[][] px = {{0, 0, 0}, {0, 0, 0}, {0, 0, 0}, {0, 0, 0}};
        for (String c : List.of("a", "b", "c")) {
            for (int i = 0; i < 3; i++) {
                write(rgbImage(2, 2, px), dir.resolve(c + "/" + i + ".png"));
            }
        }
        DataFixtures.Spec s = new DataFixtures.Spec(dir);
        s.limit = 4;
        try (Dataset d = Datasets.open(s.build(), rgb, "test")) {
            assertEquals(4, d.size());
            assertArrayEquals(new int[] {0, 1, 2, 0}, d.next(3 + 3).labels());
            assertNull(d.next(1));
        }
    }

    @Test
    void aFolderWithoutImagesIsRefused() throws Exception {
        Files.createDirectories(dir.resolve("a"));
        Files.createDirectories(dir.resolve("b"));
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(new DataFixtures.Spec(dir).build(), rgb, "test"));
        assertEquals(dir + ": no PNG or JPEG images in its 2 class subfolders", e.getMessage());
    }

    @Test
    void imagesWithoutClassFoldersAreRefused() throws Exception {
        write(gradient(), dir.resolve("a.png"));
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(new DataFixtures.Spec(dir).build(), rgb, "test"));
        assertEquals(dir + ": holds images but no class subfolders; put each class's images in a subfolder named after the class",
                e.getMessage());
    }

    @Test
    void imagesOfDifferentSizesNeedACrop() throws Exception {
        write(rgbImage(1, 1, new int[][] {{0, 0, 0}}), dir.resolve("a/small.png"));
        Path big = write(gradient(), dir.resolve("b/big.png"));
        try (Dataset d = Datasets.open(new DataFixtures.Spec(dir).build(), model("x", DataType.FLOAT, "n", 3, "h", "w"), "test")) {
            DatasetException e = assertThrows(DatasetException.class, () -> d.next(2));
            assertEquals(big + ": gives a 4x6 image after preprocessing, earlier images 1x1; set --crop (with --resize) so that"
                    + " all images get one size", e.getMessage());
        }
    }

    @Test
    void meanWithTheWrongNumberOfChannelsIsRefused() throws Exception {
        write(gradient(), dir.resolve("a/a.png"));
        DataFixtures.Spec s = new DataFixtures.Spec(dir);
        s.mean = List.of(0.5, 0.5);
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(s.build(), rgb, "test"));
        assertEquals("--mean has 2 values; the model input has 3 channels (give 1 or 3)", e.getMessage());
    }
}
