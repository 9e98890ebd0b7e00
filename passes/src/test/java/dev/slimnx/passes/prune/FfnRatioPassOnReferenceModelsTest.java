package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.ConstantNode;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassManager;
import dev.slimnx.passes.PassRegistry;
import dev.slimnx.passes.testing.PassTesting;
import dev.slimnx.passes.testing.ReferenceInputs;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import dev.slimnx.validate.data.NavitStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code prune-ffn} on every reference model, after the lossless pipeline (as {@code slimnx prune}
 * runs it): every FFN hidden layer is found; keeping every unit changes nothing (the pass at the
 * model's own ratio does nothing; the pruner keeping all units in order is bit-exact, in reverse
 * order equal within float rounding); halving the ratio gives a model that passes the checker,
 * runs at two batch sizes, holds exactly the parameters the report claims, and computes what the
 * unpruned model computes with the removed units zeroed in the reducing weights; each importance
 * criterion runs.
 */
class FfnRatioPassOnReferenceModelsTest {
    /** FFN hidden layers per model: transformer MLPs, EfficientViT's sandwich FFNs (2 per block), DETR's 2 + 2. */
    private static final Map<String, Integer> LAYERS = Map.of("vit", 6, "deepvit", 6, "mobilevit", 4, "mobilevitv2", 4,
            "efficientvit", 8, "navit", 6, "memvit", 6, "detr", 4);
    private static final Map<String, Model> LOSSLESS = new ConcurrentHashMap<>();
    private static ReferenceModels registry;

    @BeforeAll
    static void locate() throws Exception {
        registry = ReferenceModels.locate();
    }

    static Stream<String> names() throws Exception {
        return ReferenceModels.locate().all().stream().map(ReferenceModel::name);
    }

    /** A fresh copy of the model after the lossless pipeline. */
    static Model base(String name) {
        return LOSSLESS.computeIfAbsent(name, n -> {
            try {
                Model m = OnnxReader.read(registry.get(n).file());
                PassRegistry passes = PassRegistry.standard();
                new PassManager(passes.pipeline(passes.losslessIds(), Map.of()), PassManager.Options.untilFixedPoint())
                        .run(m, PassContext.defaults());
                return m;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }).copy();
    }

    /** Real inputs: {@code items} images (canvases), or for NaViT a pack of {@code items} images. */
    static Map<String, Tensor> feeds(ReferenceModel ref, int items) throws Exception {
        if (ref.task() != ReferenceModel.Task.PACKED) {
            return ReferenceInputs.feeds(registry, ref, items);
        }
        LabelledImages images = LabelledImages.read(registry.dataFile("test_images"), registry.dataFile("test_labels"));
        ReferenceModel.Preprocessing p = ref.inputs().get(0).preprocessing();
        float[][] pixels = images.preprocessed(new ImagePreprocessing(p.scale(), p.mean(), p.std()));
        int[] sizes = NavitStream.sizes(images.size(), NavitStream.EVAL_SEED);
        int[] members = new int[items];
        for (int i = 0; i < items; i++) {
            members[i] = i;
        }
        List<String> names = ref.inputs().stream().map(ReferenceModel.InputSpec::name).toList();
        return NavitStream.build(pixels, sizes, members, 0).feeds(names);
    }

    /** The one FFN ratio all of a model's hidden layers share. */
    private static double ratio(List<FfnLayer> layers) {
        double r = layers.get(0).ratio();
        for (FfnLayer l : layers) {
            assertEquals(r, l.ratio(), l.name());
        }
        return r;
    }

    @ParameterizedTest
    @MethodSource("names")
    void keepingEveryUnitChangesNothing(String name) throws Exception {
        ReferenceModel ref = registry.get(name);
        Model base = base(name);
        List<FfnLayer> layers = FfnFinder.find(base);
        assertEquals(LAYERS.get(name), layers.size(), () -> "FFN layers found: " + layers.stream().map(FfnLayer::name).toList());
        for (FfnLayer l : layers) {
            assertTrue(l.isPrunable(), () -> l.name() + ": " + l.refusal());
        }
        PassTesting.assertUnchanged(new FfnRatioPass(FfnRatioPass.Options.of(ratio(layers),
                FfnRatioPass.Criterion.MAGNITUDE)), base.copy());

        Map<String, Tensor> in = feeds(ref, 3);
        Model inOrder = base.copy();
        Model reversed = base.copy();
        for (FfnLayer l : FfnFinder.find(inOrder)) {
            int[] all = new int[l.hiddenWidth()];
            for (int c = 0; c < all.length; c++) {
                all[c] = c;
            }
            ChannelPruner.prune(inOrder, l.group(), all);
        }
        PassTesting.assertSameOutputs(base, inOrder, in, 0, 0);
        for (FfnLayer l : FfnFinder.find(reversed)) {
            int[] back = new int[l.hiddenWidth()];
            for (int c = 0; c < back.length; c++) {
                back[c] = back.length - 1 - c;
            }
            ChannelPruner.prune(reversed, l.group(), back);
        }
        PassTesting.assertSameOutputs(base, reversed, in, 1e-5, 1e-5);
    }

    @ParameterizedTest
    @MethodSource("names")
    void halvingTheRatioRemovesHalfTheUnitsAndNothingElse(String name) throws Exception {
        ReferenceModel ref = registry.get(name);
        Model base = base(name);
        List<FfnLayer> layers = FfnFinder.find(base);
        Model m = base.copy();
        FfnRatioPass pass = new FfnRatioPass(FfnRatioPass.Options.of(ratio(layers) / 2, FfnRatioPass.Criterion.MAGNITUDE));
        assertTrue(PassTesting.run(pass, m).changed());
        PruneReport report = pass.lastReport();
        assertEquals(layers.size(), report.pruned().size());
        assertEquals(List.of(), report.refused());
        assertEquals(recount(m), report.parametersAfter(), "parameters the report claims, counted again");
        assertEquals(recount(base), report.parametersBefore());
        assertTrue(report.macsAfter() < report.macsBefore());

        // the pruned model is the unpruned one with the removed units' reducing weights zeroed
        Model zeroed = base.copy();
        for (int k = 0; k < layers.size(); k++) {
            FfnLayer l = layers.get(k);
            PruneReport.Group g = report.pruned().get(k);
            assertEquals(l.name(), g.name());
            assertEquals(l.hiddenWidth() / 2, g.widthAfter(), l.name());
            int[] removed = PruneTesting.complement(l.hiddenWidth(), g.kept());
            for (Node r : l.reduce()) {
                FfnFinder.Weight w = FfnFinder.weight(r);
                ChannelMember member = l.group().member(w.value());
                List<Integer> positions = new ArrayList<>();
                for (int c : removed) {
                    positions.addAll(member.map().positionsOf(c));
                }
                PruneTesting.zero(zeroed, w.value().name(), member.axis(),
                        positions.stream().mapToInt(Integer::intValue).toArray());
                assertEquals(g.widthAfter(), m.graph().initializer(w.value().name()).initializer().dims()[member.axis()]);
            }
        }
        for (int items : new int[] {1, 3}) {
            PassTesting.assertSameOutputs(zeroed, m, feeds(ref, items), 1e-4, 1e-4);
        }
    }

    @ParameterizedTest
    @MethodSource("names")
    void everyImportanceRuns(String name) throws Exception {
        ReferenceModel ref = registry.get(name);
        Model base = base(name);
        double half = ratio(FfnFinder.find(base)) / 2;
        Map<String, Tensor> in = feeds(ref, 2);

        Model random = base.copy();
        FfnRatioPass r = new FfnRatioPass(FfnRatioPass.Options.of(half, FfnRatioPass.Criterion.RANDOM).withSeed(7));
        PassTesting.run(r, random);
        assertEquals("random", r.lastReport().importance());
        assertFinite(random, in);

        Model taylor = base.copy();
        FfnRatioPass t = new FfnRatioPass(FfnRatioPass.Options.of(half, FfnRatioPass.Criterion.TAYLOR)
                .withData(ReferenceBatches.calibration(registry, ref, 16, 1), 1));
        PassTesting.run(t, taylor);
        assertEquals("taylor", t.lastReport().importance());
        assertEquals(LAYERS.get(name), t.lastReport().pruned().size());
        for (PruneReport.Group g : t.lastReport().pruned()) {
            assertEquals(1.0, g.scores().max(), 1e-12, g.name() + ": scores are not all zero");
        }
        assertFinite(taylor, in);
    }

    static void assertFinite(Model m, Map<String, Tensor> feeds) {
        try (ModelRunner runner = ModelRunner.open(m, RunOptions.reference())) {
            for (Tensor out : runner.run(feeds).values()) {
                for (float v : out.toFloatArray()) {
                    assertFalse(Float.isNaN(v) || Float.isInfinite(v));
                }
            }
        }
    }

    /** Elements of every initializer and Constant node value (strings aside), in every graph. */
    static long recount(Model m) {
        return recount(m.graph());
    }

    private static long recount(Graph g) {
        long n = 0;
        for (Value v : g.initializers()) {
            n += v.initializer().numElements();
        }
        for (Node node : g.nodes()) {
            Tensor c = ConstantNode.valueOf(node);
            if (c != null) {
                n += c.numElements();
            }
            for (Graph sub : node.subgraphs()) {
                n += recount(sub);
            }
        }
        return n;
    }
}
