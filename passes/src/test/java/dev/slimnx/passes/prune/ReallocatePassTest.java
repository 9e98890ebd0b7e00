package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.testing.PassTesting;
import org.junit.jupiter.api.Test;

/**
 * {@code prune-reallocate} on a small transformer block (2 heads of Q/K dim 4, MLP hidden 32):
 * the target is met by a recount and not overshot by more than one unit, V and the output
 * projection never shrink, minimum widths hold, uniform pruning narrows every group alike, and a
 * target that cannot be met is refused with the model unchanged.
 */
class ReallocatePassTest {
    private static ReallocatePass pass(ReallocatePass.Target target, double fraction) {
        return new ReallocatePass(ReallocatePass.Options.of(target, fraction, FfnRatioPass.Criterion.MAGNITUDE)
                .withRoundTo(1));
    }

    private static PruneReport.Group group(PruneReport r, String label) {
        return r.pruned().stream().filter(g -> g.name().equals(label)).findFirst().orElse(null);
    }

    @Test
    void meetsTheParamTargetWithinOneUnit() {
        Model m = PruneTesting.block();
        long before = ModelStats.of(m).parameterCount();
        ReallocatePass p = pass(ReallocatePass.Target.PARAMS, 0.6);
        PassTesting.run(p, m);
        PruneReport r = p.lastReport();
        long after = ModelStats.of(m).parameterCount();
        assertEquals(FfnRatioPassOnReferenceModelsTest.recount(m), after);
        assertEquals(after, r.parametersAfter());
        assertTrue(after <= (long) Math.floor(0.6 * before), after + " > 0.6 x " + before);
        // the costliest unit: a Q/K dim of both heads (2 x (8 weights + 1 bias) per projection)
        assertTrue(after > (long) Math.floor(0.6 * before) - 36, "overshot: " + after + " of " + before);
        FfnRatioPassOnReferenceModelsTest.assertFinite(m, PassTesting.randomFeeds(m, 1, 3));
    }

    @Test
    void neverTouchesVOrTheOutputProjection() {
        Model m = PruneTesting.block();
        PassTesting.run(pass(ReallocatePass.Target.PARAMS, 0.5), m);
        assertArrayEquals(new long[] {8, 8}, PruneTesting.dims(m, "v.weight"));
        assertArrayEquals(new long[] {8, 8}, PruneTesting.dims(m, "o.weight"));
        assertEquals(8, PruneTesting.dims(m, "v.bias")[0]);
    }

    @Test
    void meetsAMacTarget() {
        Model m = PruneTesting.block();
        long before = ModelStats.of(m).totalMacs();
        ReallocatePass p = pass(ReallocatePass.Target.MACS, 0.5);
        PassTesting.run(p, m);
        assertTrue(ModelStats.of(m).totalMacs() <= before / 2);
        assertEquals(ModelStats.of(m).totalMacs(), p.lastReport().macsAfter());
    }

    @Test
    void honoursMinimumWidths() {
        Model m = PruneTesting.block();
        ReallocatePass p = new ReallocatePass(ReallocatePass.Options.of(ReallocatePass.Target.PARAMS, 0.75,
                FfnRatioPass.Criterion.MAGNITUDE).withRoundTo(1).withMinFraction(0.5));
        PassTesting.run(p, m);
        for (PruneReport.Group g : p.lastReport().pruned()) {
            assertTrue(g.widthAfter() >= g.widthBefore() / 2, g.name() + ": " + g.widthAfter());
        }
    }

    @Test
    void uniformPruningNarrowsEveryGroupAlike() {
        Model m = PruneTesting.block();
        ReallocatePass p = new ReallocatePass(ReallocatePass.Options.of(ReallocatePass.Target.PARAMS, 0.6,
                FfnRatioPass.Criterion.MAGNITUDE).withRoundTo(1).withUniform(true));
        PassTesting.run(p, m);
        PruneReport.Group ffn = group(p.lastReport(), "ffn fc1");
        PruneReport.Group qk = group(p.lastReport(), "q/k scores");
        double ffnKept = ffn.widthAfter() / 32.0;
        double qkKept = qk.widthAfter() / 4.0;
        // the same percentile cut: within one Q/K dim (a quarter of the group)
        assertEquals(ffnKept, qkKept, 0.25 + 1e-9, ffn.widthAfter() + "/32 vs " + qk.widthAfter() + "/4");
    }

    @Test
    void roundsFfnWidthsToTheMultiple() {
        Model m = PruneTesting.block();
        ReallocatePass p = new ReallocatePass(ReallocatePass.Options.of(ReallocatePass.Target.PARAMS, 0.6,
                FfnRatioPass.Criterion.MAGNITUDE).withRoundTo(8));
        PassTesting.run(p, m);
        PruneReport.Group ffn = group(p.lastReport(), "ffn fc1");
        assertTrue(ffn == null || ffn.widthAfter() % 8 == 0, () -> "ffn width " + ffn.widthAfter());
    }

    @Test
    void refusesATargetTheMinimumWidthsCannotReach() {
        Model m = PruneTesting.block();
        byte[] before = OnnxWriter.toBytes(m);
        PassRefusedException e = assertThrows(PassRefusedException.class,
                () -> pass(ReallocatePass.Target.PARAMS, 0.05).prune(m, dev.slimnx.passes.PassContext.defaults()));
        assertTrue(e.getMessage().contains("cannot be reached"), e.getMessage());
        assertArrayEquals(before, OnnxWriter.toBytes(m));
    }

    @Test
    void aTargetAtOrAboveTheModelChangesNothing() {
        PassTesting.assertUnchanged(pass(ReallocatePass.Target.PARAMS, 1.0), PruneTesting.block());
    }

    @Test
    void taylorWithoutDataIsRefused() {
        ReallocatePass p = new ReallocatePass(ReallocatePass.Options.of(ReallocatePass.Target.PARAMS, 0.5,
                FfnRatioPass.Criterion.TAYLOR));
        assertThrows(PassRefusedException.class, () -> p.requires(PruneTesting.block()));
    }

    @Test
    void blocksKeepWidthsOnTheMultiple() {
        ReallocatePass.Blocks b = new ReallocatePass.Blocks(20, 8);
        assertEquals(3, b.count());
        // lowest scores first: the remainder block of 4, then blocks of 8
        double[] scores = new double[20];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = 20 - i;
        }
        assertArrayEquals(new double[] {1 + 2 + 3 + 4, 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12,
            13 + 14 + 15 + 16 + 17 + 18 + 19 + 20}, b.scores(scores), 1e-12);
        assertEquals(20, b.width(3));
        assertEquals(16, b.width(2));
        assertEquals(8, b.width(1));
        assertEquals(2, b.minBlocks(9));
        assertEquals(1, b.minBlocks(8));
    }

    @Test
    void percentilesRankWithinTheGroup() {
        assertArrayEquals(new double[] {0.75, 0.25, 1.0, 0.5},
                ReallocatePass.percentiles(new double[] {3, 1, 5, 2}), 1e-12);
    }
}
