package dev.slimnx.validate.data;

import static dev.slimnx.validate.data.DataFixtures.idxPair;
import static dev.slimnx.validate.data.DataFixtures.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxDatasetTest {
    @TempDir
    Path dir;

    private final Model gray = model("x", DataType.FLOAT, "batch", 1, 2, 2);

    @Test
    void readsTheImagesFileWithItsLabelsBesideIt() throws Exception {
        Path images = idxPair(dir, "t10k", 3, 2, 2, 10, 4);
        DataFixtures.Spec s = new DataFixtures.Spec(images);
        s.mean = List.of(1.0);
        s.std = List.of(2.0);
        try (Dataset d = Datasets.open(s.build(), gray, "test")) {
            assertEquals(3, d.size());
            assertTrue(d.labelled());
            Batch b = d.next(2);
            Tensor x = b.inputs().get("x");
            assertArrayEquals(new long[] {2, 1, 2, 2}, x.dims());
            // (pixel * 1 - 1) / 2 for pixels 10..17
            assertArrayEquals(new float[] {4.5f, 5, 5.5f, 6, 6.5f, 7, 7.5f, 8}, x.toFloatArray());
            assertArrayEquals(new int[] {4, 4}, b.labels());
            assertEquals(1, d.next(2).size());
            assertNull(d.next(2));
        }
    }

    @Test
    void aFolderWithBothSplitsServesTheDefaultOrTheAskedOne() throws Exception {
        idxPair(dir, "train", 5, 2, 2, 0, 7);
        idxPair(dir, "t10k", 3, 2, 2, 0, 3);
        DataFixtures.Spec s = new DataFixtures.Spec(dir);
        try (Dataset d = Datasets.open(s.build(), gray, "test")) {
            assertEquals(3, d.size());
            assertArrayEquals(new int[] {3, 3, 3}, d.next(10).labels());
        }
        try (Dataset d = Datasets.open(s.build(), gray, "train")) {
            assertEquals(5, d.size());
        }
        s.split = "train";
        try (Dataset d = Datasets.open(s.build(), gray, "test")) {
            assertArrayEquals(new int[] {7, 7, 7, 7, 7}, d.next(10).labels());
        }
    }

    @Test
    void calibStandsInForTrainWhereNoTrainExists() throws Exception {
        idxPair(dir, "calib", 2, 2, 2, 0, 1);
        idxPair(dir, "t10k", 3, 2, 2, 0, 3);
        try (IdxDataset d = (IdxDataset) Datasets.open(new DataFixtures.Spec(dir).build(), gray, "train")) {
            assertEquals("calib-images-idx3-ubyte.gz", d.source().images().getFileName().toString());
            assertEquals(2, d.size());
        }
    }

    @Test
    void theCommittedReferenceDataOpensForBothSplits() throws Exception {
        Path data = Path.of("..", "reference-models", "data");
        Model fashion = model("x", DataType.FLOAT, "batch", 1, 28, 28);
        DataFixtures.Spec s = new DataFixtures.Spec(data);
        s.scale = 1.0 / 255;
        s.limit = 5;
        try (IdxDataset d = (IdxDataset) Datasets.open(s.build(), fashion, "test")) {
            assertTrue(d.source().images().getFileName().toString().startsWith("t10k"));
            Batch b = d.next(8);
            assertEquals(5, b.size());
            float[] x = b.inputs().get("x").toFloatArray();
            for (float v : x) {
                assertTrue(v >= 0 && v <= 1, "scaled pixel " + v);
            }
            for (int y : b.labels()) {
                assertTrue(y >= 0 && y < 10, "label " + y);
            }
        }
        try (IdxDataset d = (IdxDataset) Datasets.open(s.build(), fashion, "train")) {
            assertTrue(d.source().images().getFileName().toString().startsWith("calib"));
        }
    }

    @Test
    void aThreeChannelNhwcModelGetsTheGrayValueInEveryChannel() throws Exception {
        Path images = idxPair(dir, "t10k", 1, 2, 2, 1, 0);
        DataFixtures.Spec s = new DataFixtures.Spec(images);
        s.layout = "NHWC";
        try (Dataset d = Datasets.open(s.build(), model("x", DataType.FLOAT, 1, 2, 2, 3), "test")) {
            Tensor x = d.next(1).inputs().get("x");
            assertArrayEquals(new long[] {1, 2, 2, 3}, x.dims());
            assertArrayEquals(new float[] {1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4}, x.toFloatArray());
        }
    }

    @Test
    void aMissingLabelsFileIsNamed() throws Exception {
        Path images = idxPair(dir, "t10k", 1, 2, 2, 0, 0);
        Files.delete(dir.resolve("t10k-labels-idx1-ubyte"));
        DatasetException e = assertThrows(DatasetException.class,
                () -> Datasets.open(new DataFixtures.Spec(images).build(), gray, "test"));
        assertEquals(images + ": no labels file beside it (expected t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz)",
                e.getMessage());
    }

    @Test
    void anAskedSplitThatIsMissingListsWhatIsThere() throws Exception {
        idxPair(dir, "t10k", 1, 2, 2, 0, 0);
        DataFixtures.Spec s = new DataFixtures.Spec(dir);
        s.split = "train";
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(s.build(), gray, "test"));
        assertEquals(dir + ": no train split (train-* or calib-* IDX images); found [t10k-images-idx3-ubyte.gz]", e.getMessage());
    }

    @Test
    void imagesOfAnotherSizeThanTheModelInputAreRefused() throws Exception {
        Path images = idxPair(dir, "t10k", 1, 2, 2, 0, 0);
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(new DataFixtures.Spec(images).build(),
                model("x", DataType.FLOAT, "batch", 1, 28, 28), "test"));
        assertEquals(images + ": gives 2x2 images, but model input 'x' has shape [batch, 1, 28, 28]; set --resize/--crop"
                + " (or --layout)", e.getMessage());
    }
}
