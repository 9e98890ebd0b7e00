package dev.slimnx.validate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import dev.slimnx.validate.data.NavitStream;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The pair runs of the packed and detection tasks, with small untrained models of NaViT's and
 * DETR's signatures: a model against itself is identical, a perturbed one is not.
 */
class ReferenceTaskRunTest {
    static LabelledImages images;
    static final ImagePreprocessing PRE = new ImagePreprocessing(1.0 / 255, new double[] {0.286}, new double[] {0.353});

    @BeforeAll
    static void load() throws Exception {
        Path data = Path.of("../reference-models/data");
        images = LabelledImages.read(data.resolve("t10k-images-idx3-ubyte.gz"), data.resolve("t10k-labels-idx1-ubyte.gz"));
    }

    /** Masked mean pooling per image slot, then a linear head: NaViT's inputs and output, no attention. */
    static Model packed(long seed) {
        int p = NavitStream.PATCH * NavitStream.PATCH;
        GraphBuilder b = new GraphBuilder(17, seed);
        var patches = b.input("patches", DataType.FLOAT, "seq", p);
        b.input("pos_y", DataType.INT64, "seq");
        b.input("pos_x", DataType.INT64, "seq");
        var ids = b.input("image_ids", DataType.INT64, "seq");
        var column = b.op("Unsqueeze", ids, b.initializer(Tensor.ofLongs("axis1", new long[] {1}, 1)));
        var slots = b.initializer(Tensor.ofLongs("slots", new long[] {8}, 0, 1, 2, 3, 4, 5, 6, 7));
        var member = b.node("Cast", b.op("Equal", column, slots)).attr("to", DataType.FLOAT.code()).value();
        var pooled = b.op("MatMul", b.node("Transpose", member).ints("perm", 1, 0).value(), patches);
        b.output(b.op("MatMul", pooled, b.initializer(b.randomFloats("w", p, 10))), DataType.FLOAT, 8, 10);
        return b.build();
    }

    /** Global pooling to one number, then linear heads to DETR's logits [batch, 8, 11] and boxes [batch, 8, 4]. */
    static Model detector(long seed) {
        GraphBuilder b = new GraphBuilder(17, seed);
        var x = b.input("input", DataType.FLOAT, "batch", 1, 64, 64);
        var g = b.node("Flatten", b.op("GlobalAveragePool", x)).attr("axis", 1L).value();
        var logits = b.op("Reshape", b.op("MatMul", g, b.initializer(b.randomFloats("wl", 1, 88))),
                b.initializer(Tensor.ofLongs("s1", new long[] {3}, -1, 8, 11)));
        var boxes = b.op("Sigmoid", b.op("Reshape", b.op("MatMul", g, b.initializer(b.randomFloats("wb", 1, 32))),
                b.initializer(Tensor.ofLongs("s2", new long[] {3}, -1, 8, 4))));
        b.output(logits, DataType.FLOAT, "batch", 8, 11);
        b.output(boxes, DataType.FLOAT, "batch", 8, 4);
        return b.build();
    }

    @Test
    void packedStreamAgainstItselfAndAgainstAnother() {
        try (ModelRunner a = ModelRunner.open(packed(1), RunOptions.reference());
             ModelRunner b = ModelRunner.open(packed(2), RunOptions.reference())) {
            AccuracyRun.Result self = ReferenceTaskRun.packed(a, a, images, PRE, 300, Progress.NONE);
            assertEquals(300, self.items());
            assertEquals(1.0, self.accuracy().agreement());
            assertEquals(0.0, self.accuracy().top1Diff());
            assertTrue(self.outputs().get(0).identical());
            AccuracyRun.Result other = ReferenceTaskRun.packed(a, b, images, PRE, 300, Progress.NONE);
            assertTrue(other.accuracy().agreement() < 1, "other weights, other argmaxes");
            assertTrue(other.outputs().get(0).maxAbs() > 0);
        }
    }

    @Test
    void detectionCanvasesAgainstItselfAndAgainstAnother() {
        try (ModelRunner a = ModelRunner.open(detector(1), RunOptions.reference());
             ModelRunner b = ModelRunner.open(detector(2), RunOptions.reference())) {
            AccuracyRun.Result self = ReferenceTaskRun.detection(a, a, images, PRE, 10, 200, Progress.NONE);
            assertEquals(200, self.items());
            var d = self.detection();
            assertEquals(d.baselineMap50(), d.candidateMap50());
            assertTrue(d.baselineMap50() >= 0 && d.baselineMap50() <= 1);
            assertEquals(2, self.outputs().size());
            assertTrue(self.outputs().stream().allMatch(o -> o.identical()));
            AccuracyRun.Result other = ReferenceTaskRun.detection(a, b, images, PRE, 10, 200, Progress.NONE);
            assertTrue(other.outputs().stream().allMatch(o -> o.maxAbs() > 0));
        }
    }
}
