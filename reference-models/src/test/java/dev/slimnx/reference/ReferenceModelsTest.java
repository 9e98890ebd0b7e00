package dev.slimnx.reference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.check.GraphChecker;
import dev.slimnx.graph.infer.DimProduct;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.ClassificationEvaluator;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import dev.slimnx.validate.data.ImagePreprocessing;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** Every model of the manifest is what the manifest says it is, and is a well-formed model. */
class ReferenceModelsTest {
    static ReferenceModels registry;

    @BeforeAll
    static void load() throws Exception {
        registry = ReferenceModels.load(Path.of("").toAbsolutePath());
    }

    static Stream<String> names() throws Exception {
        return ReferenceModels.load(Path.of("").toAbsolutePath()).all().stream().map(ReferenceModel::name);
    }

    @Test
    void theManifestListsModelsAndTheCommittedData() {
        assertFalse(registry.all().isEmpty());
        assertTrue(Files.isRegularFile(registry.dataFile("test_images")));
        assertTrue(Files.isRegularFile(registry.dataFile("calib_labels")));
        long total = 0;
        for (ReferenceModel m : registry.all()) {
            total += m.file().toFile().length();
        }
        assertTrue(total < 30L << 20, "all model files together must stay under 30 MB, got " + total);
    }

    @ParameterizedTest
    @MethodSource("names")
    void sha256MatchesTheManifest(String name) throws Exception {
        ReferenceModel m = registry.get(name);
        assertEquals(m.sha256(), ReferenceModels.sha256(m.file()));
    }

    @ParameterizedTest
    @MethodSource("names")
    void loadsPassesTheCheckerAndRoundTrips(String name) throws Exception {
        Model model = OnnxReader.read(registry.get(name).file());
        assertEquals(List.of(), GraphChecker.check(model).stream().filter(i -> i.isError()).toList());
        byte[] once = OnnxWriter.toBytes(model);
        byte[] twice = OnnxWriter.toBytes(OnnxReader.read(once, name));
        assertTrue(Arrays.equals(once, twice), "a second round trip changes the bytes");
        assertEquals(17, model.opsetVersion(""));
    }

    /** Dynamic means batch or seq, or a product of them such as MobileViT's unfolded {@code 4*batch}. */
    @ParameterizedTest
    @MethodSource("names")
    void shapesAreFullyInferredApartFromTheDynamicDims(String name) throws Exception {
        Model model = OnnxReader.read(registry.get(name).file());
        Set<String> dynamic = Set.of("batch", "seq");
        InferenceResult result = ShapeInference.infer(model);
        List<String> unresolved = new ArrayList<>();
        for (Node n : model.graph().nodes()) {
            for (Value v : n.outputs()) {
                Shape s = result.shapeOf(v);
                if (v.name().isEmpty()) {
                    continue;
                }
                if (s == null) {
                    unresolved.add(v.name() + " (" + n.opType() + "): unknown rank");
                    continue;
                }
                for (Dim d : s.dims()) {
                    DimProduct p = DimProduct.of(d);
                    if (p == null || !dynamic.containsAll(p.symbols())) {
                        unresolved.add(v.name() + " (" + n.opType() + "): " + s);
                        break;
                    }
                }
            }
        }
        assertEquals(List.of(), unresolved);
    }

    @Test
    void vitTop1ThroughOnnxRuntimeMatchesTheManifest() throws Exception {
        ReferenceModel vit = registry.get("vit");
        ReferenceModel.Preprocessing p = vit.inputs().get(0).preprocessing();
        Model model = OnnxReader.read(vit.file());
        try (ModelRunner runner = ModelRunner.open(model, RunOptions.defaults().withIntraOpThreads(2));
             Dataset data = Datasets.open(DataSpec.images(registry.dataFile("test_images"), "test",
                     new ImagePreprocessing(p.scale(), p.mean(), p.std())), model, "test")) {
            double top1 = ClassificationEvaluator.top1(runner, "logits", data, 500);
            assertEquals(vit.metrics().get("top1").onnxruntime(), top1, 0.001, "within 0.1 point of the manifest");
        }
    }

    /**
     * Memory ViT's defining property: adding memory tokens and a second task leaves task A's
     * outputs bit-identical to the base ViT's (Sandler et al., CVPR 2022), here through ONNX Runtime.
     */
    @Test
    void memvitTaskAIsBitIdenticalToTheBaseVit() throws Exception {
        ReferenceModel vit = registry.get("vit");
        ReferenceModel memvit = registry.get("memvit");
        ReferenceModel.Preprocessing p = vit.inputs().get(0).preprocessing();
        Model base = OnnxReader.read(vit.file());
        try (ModelRunner a = ModelRunner.open(base, RunOptions.reference());
             ModelRunner b = ModelRunner.open(OnnxReader.read(memvit.file()), RunOptions.reference());
             Dataset data = Datasets.open(DataSpec.images(registry.dataFile("test_images"), "test",
                     new ImagePreprocessing(p.scale(), p.mean(), p.std())), base, "test")) {
            for (int i = 0; i < 4; i++) {
                var batch = data.next(250);
                float[] want = a.run(batch.inputs()).get("logits").toFloatArray();
                float[] got = b.run(batch.inputs()).get("logits_a").toFloatArray();
                assertTrue(Arrays.equals(want, got), "batch " + i + ": memvit's logits_a differ from vit's logits");
            }
        }
    }
}
