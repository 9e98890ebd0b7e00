package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.passes.testing.PassTesting;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@code prune-channels} on every reference model, after the lossless pipeline: the CNN parts are
 * pruned, groups on the residual stream or a LayerNorm are left alone with the reason; halving gives
 * a model that passes the checker, runs at two batch sizes, holds the parameters the report claims,
 * and computes what the unpruned model computes with the removed channels zeroed in the weights
 * that contract them.
 */
class ConvChannelsPassOnReferenceModelsTest {
    /** Conv channel groups pruned at F = 0.5 (the pure transformers only have their patch embedding, on the stream). */
    private static final Map<String, Integer> PRUNED = Map.of("vit", 0, "deepvit", 0, "mobilevit", -1,
            "mobilevitv2", 8, "efficientvit", 10, "navit", 0, "memvit", 0, "detr", 3);
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
    void halvingTheConvChannelsRemovesOnlyThem(String name) throws Exception {
        ReferenceModel ref = registry.get(name);
        Model base = FfnRatioPassOnReferenceModelsTest.base(name);
        Model m = base.copy();
        ConvChannelsPass pass = new ConvChannelsPass(ConvChannelsPass.Options.of(0.5, FfnRatioPass.Criterion.MAGNITUDE));
        boolean changed = PassTesting.run(pass, m).changed();
        PruneReport report = pass.lastReport();
        int expected = PRUNED.get(name);
        if (expected >= 0) {
            assertEquals(expected, report.pruned().size());
        } else {
            assertTrue(report.pruned().size() > 0);
        }
        assertEquals(changed, !report.pruned().isEmpty());
        assertEquals(FfnRatioPassOnReferenceModelsTest.recount(m), report.parametersAfter());
        for (PruneReport.Refusal r : report.refused()) {
            assertTrue(!r.reason().isBlank(), r.name());
        }
        if (name.equals("mobilevitv2")) {
            assertTrue(report.refused().stream().anyMatch(r -> r.reason().contains("residual stream")),
                    report.refused().toString());
        }
        if (report.pruned().isEmpty()) {
            return;
        }
        ChannelDependencies deps = new ChannelDependencies(base);
        Model zeroed = base.copy();
        for (PruneReport.Group g : report.pruned()) {
            Node seed = base.graph().nodes().stream().filter(n -> n.name().equals(g.name())).findFirst().orElseThrow();
            ChannelGroup group = deps.groupOf(seed.input(1), 0);
            int[] removed = PruneTesting.complement(g.widthBefore(), g.kept());
            for (ChannelMember c : group.constants()) {
                for (Use u : c.value().uses()) {
                    FfnFinder.Weight w = FfnFinder.weight(u.node());
                    boolean contracts = w == null && u.node().is("Conv") && u.node().intAttr("group", 1) == 1
                            && u.inputIndex() == 1 && c.axis() == 1
                            || w != null && w.value() == c.value() && c.axis() == w.inAxis();
                    if (contracts) {
                        List<Integer> positions = new ArrayList<>();
                        for (int r : removed) {
                            positions.addAll(c.map().positionsOf(r));
                        }
                        PruneTesting.zero(zeroed, c.value().name(), c.axis(),
                                positions.stream().mapToInt(Integer::intValue).toArray());
                    }
                }
            }
        }
        for (int items : new int[] {1, 3}) {
            PassTesting.assertSameOutputs(zeroed, m, FfnRatioPassOnReferenceModelsTest.feeds(ref, items), 1e-4, 1e-4);
        }
        // a second run removes F of what is left (a fraction has no fixed point)
        ConvChannelsPass again = new ConvChannelsPass(ConvChannelsPass.Options.of(0.5, FfnRatioPass.Criterion.MAGNITUDE));
        PassTesting.run(again, m);
        for (int k = 0; k < report.pruned().size(); k++) {
            assertEquals(report.pruned().get(k).widthAfter(), again.lastReport().pruned().get(k).widthBefore());
        }
    }
}
