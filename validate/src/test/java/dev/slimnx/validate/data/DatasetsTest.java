package dev.slimnx.validate.data;

import static dev.slimnx.validate.data.DataFixtures.model;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetsTest {
    @TempDir
    Path dir;

    private final Model model = model("x", DataType.FLOAT, "n", 1, 2, 2);

    private String error(Path source, Model m) {
        return assertThrows(DatasetException.class, () -> Datasets.open(new DataFixtures.Spec(source).build(), m, "test"))
                .getMessage();
    }

    @Test
    void aMissingPathIsNamed() {
        Path nowhere = dir.resolve("nowhere");
        assertEquals(nowhere + ": no such file or folder", error(nowhere, model));
    }

    @Test
    void aFileOfNoKnownKindSaysWhatIsExpected() throws Exception {
        Path csv = Files.writeString(dir.resolve("data.csv"), "1,2");
        assertEquals(csv + ": unknown kind of data file; expected an IDX images file (NAME-images-idx3-ubyte[.gz]), a .npy or"
                + " .npz file, or a folder (IDX files, or one subfolder of images per class)", error(csv, model));
    }

    @Test
    void anIdxLabelsFileAsTheSourceAsksForTheImagesFile() throws Exception {
        Path labels = DataFixtures.idx(dir.resolve("t10k-labels-idx1-ubyte"), new int[] {1}, new byte[1]);
        assertEquals(labels + ": is an IDX labels file; give the images file (NAME-images-idx3-ubyte[.gz])", error(labels, model));
    }

    @Test
    void aModelWithSeveralInputsNeedsInputToBeNamed() throws Exception {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "n", 1, 2, 2);
        Value mask = b.input("mask", DataType.BOOL, "n");
        b.output(b.op("Identity", x));
        b.output(b.op("Identity", mask));
        Path images = DataFixtures.idxPair(dir, "t10k", 1, 2, 2, 0, 0);
        assertEquals("the model has 2 inputs [x, mask]; name the one the data feeds with --input", error(images, b.build()));
        DataFixtures.Spec s = new DataFixtures.Spec(images);
        s.input = "mask2";
        assertEquals("the model has no input 'mask2'; its inputs are [x, mask]",
                assertThrows(DatasetException.class, () -> Datasets.open(s.build(), b.build(), "test")).getMessage());
        s.input = "x";
        try (Dataset d = Datasets.open(s.build(), b.build(), "test")) {
            assertEquals(java.util.Set.of("x"), d.next(1).inputs().keySet());
        }
    }
}
