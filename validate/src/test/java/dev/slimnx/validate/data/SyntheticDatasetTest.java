package dev.slimnx.validate.data;

import static dev.slimnx.validate.data.DataFixtures.model;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import org.junit.jupiter.api.Test;

class SyntheticDatasetTest {
    private final Model vit = model("pixels", DataType.FLOAT, "batch", 3, "h", "w");

    private static DataFixtures.Spec synthetic() {
        return new DataFixtures.Spec(null);
    }

    @Test
    void symbolicDimsComeFromShapeAndTheBatchAxisFromEachBatch() throws Exception {
        DataFixtures.Spec s = synthetic();
        s.shapes.put("pixels", new long[] {1, 3, 4, 5});
        s.limit = 10;
        try (Dataset d = Datasets.open(s.build(), vit, "test")) {
            assertFalse(d.labelled());
            assertEquals(10, d.size());
            Batch b = d.next(8);
            assertNull(b.labels());
            assertArrayEquals(new long[] {8, 3, 4, 5}, b.inputs().get("pixels").dims());
            assertArrayEquals(new long[] {2, 3, 4, 5}, d.next(8).inputs().get("pixels").dims());
            assertNull(d.next(8));
        }
    }

    @Test
    void aMissingShapeNamesTheSymbolicDimAndTheOption() {
        DatasetException e = assertThrows(DatasetException.class, () -> Datasets.open(synthetic().build(), vit, "test"));
        assertEquals("model input 'pixels' has symbolic dim 'h' at axis 2 [batch, 3, h, w]; give its shape with"
                + " --shape pixels=1x3x224x224", e.getMessage());
    }

    @Test
    void aShapeThatContradictsTheModelOrNamesNoInputIsRefused() {
        DataFixtures.Spec s = synthetic();
        s.shapes.put("pixels", new long[] {1, 1, 4, 5});
        assertEquals("--shape pixels gives 1 at axis 1, the model input has 3 [batch, 3, h, w]",
                assertThrows(DatasetException.class, () -> Datasets.open(s.build(), vit, "test")).getMessage());
        DataFixtures.Spec t = synthetic();
        t.shapes.put("image", new long[] {1, 3, 4, 5});
        assertEquals("--shape names 'image', which is not a model input; the inputs are [pixels]",
                assertThrows(DatasetException.class, () -> Datasets.open(t.build(), vit, "test")).getMessage());
    }

    @Test
    void theSameSeedGivesTheSameDataAndTheDefaultSizeIs64() throws Exception {
        Model fixed = model("x", DataType.FLOAT, "n", 4);
        float[] a;
        float[] b;
        float[] c;
        DataFixtures.Spec s = synthetic();
        s.seed = 7;
        try (Dataset d = Datasets.open(s.build(), fixed, "test")) {
            assertEquals(SyntheticDataset.DEFAULT_ITEMS, d.size());
            a = d.next(2).inputs().get("x").toFloatArray();
        }
        try (Dataset d = Datasets.open(s.build(), fixed, "test")) {
            b = d.next(2).inputs().get("x").toFloatArray();
        }
        s.seed = 8;
        try (Dataset d = Datasets.open(s.build(), fixed, "test")) {
            c = d.next(2).inputs().get("x").toFloatArray();
        }
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
    }

    @Test
    void integerInputsAreZerosAndAFixedBatchIsKept() throws Exception {
        Model ids = model("ids", DataType.INT64, 2, 3);
        try (Dataset d = Datasets.open(synthetic().build(), ids, "test")) {
            Tensor t = d.next(2).inputs().get("ids");
            assertArrayEquals(new long[] {0, 0, 0, 0, 0, 0}, t.toLongArray());
            assertEquals("model input 'ids' has a fixed batch size of 2, asked for a batch of 4",
                    assertThrows(DatasetException.class, () -> d.next(4)).getMessage());
        }
    }
}
