package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.testing.PassTesting;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.ToIntFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code prune-qk} and {@code prune-heads} on every reference model, after the lossless pipeline:
 * the attention products are found; keeping every channel in reverse order changes nothing; halving
 * gives a model that passes the checker, runs at two batch sizes, holds the parameters the report
 * claims, and computes what the unpruned model (fused projections split) computes with the removed
 * channels zeroed in every constant of their group; what cannot be pruned is refused with its reason.
 */
class AttentionPassesOnReferenceModelsTest {
    /** Q·Kᵀ groups per model (MemViT's task-B products share their block's weights, so they count once). */
    private static final Map<String, Integer> QK_GROUPS = Map.of("vit", 6, "deepvit", 6, "mobilevit", 4,
            "efficientvit", 10, "navit", 6, "memvit", 6, "detr", 6);
    private static ReferenceModels registry;

    @BeforeAll
    static void locate() throws Exception {
        FfnRatioPassOnReferenceModelsTest.locate();
        registry = ReferenceModels.locate();
    }

    static Stream<String> names() throws Exception {
        return ReferenceModels.locate().all().stream().map(ReferenceModel::name);
    }

    @ParameterizedTest
    @MethodSource("names")
    void qkDimHalvedRemovesOnlyTheQkTerms(String name) throws Exception {
        Model base = FfnRatioPassOnReferenceModelsTest.base(name);
        if (name.equals("mobilevitv2")) {
            assertRefusedUnchanged(new QkDimPass(4, FfnRatioPass.Criterion.MAGNITUDE, null), base);
            return;
        }
        List<AttentionLayer> layers = AttentionFinder.find(base);
        int d = layers.stream().mapToInt(AttentionLayer::qkDim).max().orElseThrow();
        PassTesting.assertUnchanged(new QkDimPass(d, FfnRatioPass.Criterion.MAGNITUDE, null), base.copy());
        int half = layers.stream().mapToInt(AttentionLayer::qkDim).min().orElseThrow() / 2;
        check(name, base, new QkDimPass(half, FfnRatioPass.Criterion.MAGNITUDE, null), QK_GROUPS.get(name),
                l -> half, (l, deps) -> deps.groupOf(l.scores().input(0), -1));
    }

    @ParameterizedTest
    @MethodSource("names")
    void halvingTheHeadsRemovesWholeHeads(String name) throws Exception {
        Model base = FfnRatioPassOnReferenceModelsTest.base(name);
        if (name.equals("mobilevitv2")) {
            assertRefusedUnchanged(new HeadPass(1, FfnRatioPass.Criterion.MAGNITUDE, null), base);
            return;
        }
        HeadPass pass = new HeadPass(2, FfnRatioPass.Criterion.MAGNITUDE, null);
        if (name.equals("deepvit") || name.equals("efficientvit")) {
            Model m = base.copy();
            byte[] before = OnnxWriter.toBytes(m);
            assertTrue(!PassTesting.run(pass, m).changed());
            assertArrayEquals(before, OnnxWriter.toBytes(m));
            assertEquals(0, pass.lastReport().pruned().size());
            for (PruneReport.Refusal r : pass.lastReport().refused()) {
                assertTrue(name.equals("efficientvit") ? r.reason().contains("cascaded heads")
                        : r.reason().contains("H×H"), r.reason());
            }
            return;
        }
        check(name, base, pass, QK_GROUPS.get(name), l -> 2, (l, deps) -> deps.groupOf(l.scores().input(0),
                l.headAxis()));
    }

    @ParameterizedTest
    @MethodSource("names")
    void taylorAndRandomImportanceRun(String name) throws Exception {
        if (name.equals("mobilevitv2")) {
            return; // no Q·Kᵀ product: refused above
        }
        ReferenceModel ref = registry.get(name);
        Model base = FfnRatioPassOnReferenceModelsTest.base(name);
        int half = AttentionFinder.find(base).stream().mapToInt(AttentionLayer::qkDim).min().orElseThrow() / 2;
        Map<String, Tensor> in = FfnRatioPassOnReferenceModelsTest.feeds(ref, 2);

        Model random = base.copy();
        QkDimPass r = new QkDimPass(half, FfnRatioPass.Criterion.RANDOM, null).withSeed(5);
        PassTesting.run(r, random);
        assertEquals("random", r.lastReport().importance());
        FfnRatioPassOnReferenceModelsTest.assertFinite(random, in);

        Model taylor = base.copy();
        QkDimPass t = new QkDimPass(half, FfnRatioPass.Criterion.TAYLOR, ReferenceBatches.calibration(registry, ref, 16, 1));
        PassTesting.run(t, taylor);
        assertEquals("taylor", t.lastReport().importance());
        assertEquals(QK_GROUPS.get(name), t.lastReport().pruned().size());
        for (PruneReport.Group g : t.lastReport().pruned()) {
            assertEquals(1.0, g.scores().max(), 1e-12, g.name() + ": scores are not all zero");
        }
        FfnRatioPassOnReferenceModelsTest.assertFinite(taylor, in);
    }

    private interface Grouping {
        ChannelGroup group(AttentionLayer l, ChannelDependencies deps);
    }

    private static void assertRefusedUnchanged(dev.slimnx.passes.Pass pass, Model base) {
        Model m = base.copy();
        byte[] before = OnnxWriter.toBytes(m);
        PassRefusedException e = assertThrows(PassRefusedException.class, () -> PassTesting.run(pass, m));
        assertTrue(e.getMessage().contains("MobileViTv2"), e.getMessage());
        assertArrayEquals(before, OnnxWriter.toBytes(m));
    }

    private static void check(String name, Model base, dev.slimnx.passes.Pass pass, int groups,
                              ToIntFunction<AttentionLayer> target, Grouping grouping) throws Exception {
        ReferenceModel ref = registry.get(name);
        Model split = base.copy();
        FusedProjections.split(split);
        PassTesting.assertSameOutputs(base, split, FfnRatioPassOnReferenceModelsTest.feeds(ref, 2), 1e-5, 1e-5);

        // keeping every channel in reverse order: the groups are complete
        Model reversed = split.copy();
        for (ChannelGroup g : distinctGroups(reversed, grouping)) {
            int[] back = new int[g.width()];
            for (int c = 0; c < back.length; c++) {
                back[c] = back.length - 1 - c;
            }
            ChannelPruner.prune(reversed, g, back);
        }
        PassTesting.assertSameOutputs(split, reversed, FfnRatioPassOnReferenceModelsTest.feeds(ref, 2), 1e-5, 1e-5);

        Model m = base.copy();
        assertTrue(PassTesting.run(pass, m).changed());
        PruneReport report = pass instanceof QkDimPass q ? q.lastReport() : ((HeadPass) pass).lastReport();
        assertEquals(List.of(), report.refused());
        assertEquals(groups, report.pruned().size());
        assertEquals(FfnRatioPassOnReferenceModelsTest.recount(m), report.parametersAfter());
        assertEquals(FfnRatioPassOnReferenceModelsTest.recount(base), report.parametersBefore());
        assertTrue(report.macsAfter() < report.macsBefore());

        Model zeroed = split.copy();
        List<ChannelGroup> found = distinctGroups(zeroed, grouping);
        List<AttentionLayer> layers = AttentionFinder.find(zeroed);
        for (int k = 0; k < report.pruned().size(); k++) {
            PruneReport.Group g = report.pruned().get(k);
            ChannelGroup group = found.get(k);
            AttentionLayer l = layers.stream().filter(a -> a.name().equals(g.name())).findFirst().orElseThrow();
            assertEquals(target.applyAsInt(l), g.widthAfter(), g.name());
            int[] removed = PruneTesting.complement(g.widthBefore(), g.kept());
            for (ChannelMember c : group.constants()) {
                List<Integer> positions = new ArrayList<>();
                for (int r : removed) {
                    positions.addAll(c.map().positionsOf(r));
                }
                PruneTesting.zero(zeroed, c.value().name(), c.axis(),
                        positions.stream().mapToInt(Integer::intValue).toArray());
            }
        }
        for (int items : new int[] {1, 3}) {
            Map<String, Tensor> in = FfnRatioPassOnReferenceModelsTest.feeds(ref, items);
            PassTesting.assertSameOutputs(zeroed, m, in, 1e-4, 1e-4);
        }
        PassTesting.assertUnchanged(pass, m);
    }

    /** One group per attention product, products whose Q is already in a group left out (shared weights). */
    private static List<ChannelGroup> distinctGroups(Model m, Grouping grouping) {
        ChannelDependencies deps = new ChannelDependencies(m);
        List<ChannelGroup> out = new ArrayList<>();
        for (AttentionLayer l : AttentionFinder.find(m)) {
            if (out.stream().anyMatch(g -> g.member(l.scores().input(0)) != null)) {
                continue;
            }
            ChannelGroup g = grouping.group(l, deps);
            assertTrue(g.isPrunable(), () -> l.name() + ": " + g.refusal());
            out.add(g);
        }
        return out;
    }
}
