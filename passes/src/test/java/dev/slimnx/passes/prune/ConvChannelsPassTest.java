package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassRegistry;
import dev.slimnx.passes.testing.PassTesting;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code prune-channels} on small conv models: widths, the depthwise group, what is left alone. */
class ConvChannelsPassTest {

    private static ConvChannelsPass pass(double fraction) {
        return new ConvChannelsPass(ConvChannelsPass.Options.of(fraction, FfnRatioPass.Criterion.MAGNITUDE));
    }

    @Test
    void prunesAnInvertedResidualHiddenGroupThroughTheDepthwiseConv() {
        Model m = PruneTesting.depthwise();
        Model original = m.copy();
        ConvChannelsPass p = pass(0.5);
        assertEquals(Map.of("conv channel groups pruned", 1, "channels removed", 3), PassTesting.run(p, m).counts());
        PruneReport.Group g = p.lastReport().pruned().get(0);
        assertEquals("expand", g.name());
        assertEquals(4, g.inputWidth());
        assertArrayEquals(new long[] {3, 4, 1, 1}, PruneTesting.dims(m, "expand.weight"));
        assertArrayEquals(new long[] {3, 1, 3, 3}, PruneTesting.dims(m, "dw.weight"));
        assertArrayEquals(new long[] {4, 3, 1, 1}, PruneTesting.dims(m, "project.weight"));
        Node dw = m.graph().nodes().stream().filter(n -> n.name().equals("dw")).findFirst().orElseThrow();
        assertEquals(3, dw.intAttr("group", 0));
        // the output convolution's channels are the graph output: left alone, with the reason
        assertEquals(1, p.lastReport().refused().size());
        assertTrue(p.lastReport().refused().get(0).reason().contains("graph output"));

        Model reference = original.copy();
        PruneTesting.zero(reference, "project.weight", 1, PruneTesting.complement(6, g.kept()));
        PassTesting.assertSameOutputs(reference, m, 1e-5, 1e-5);
    }

    @Test
    void aGroupThatReachesTheResidualIsLeftAloneAndReported() {
        Model m = PruneTesting.convFfn();
        ConvChannelsPass p = pass(0.5);
        PassTesting.run(p, m);
        assertEquals(1, p.lastReport().pruned().size(), "the hidden channels");
        assertEquals("pw1", p.lastReport().pruned().get(0).name());
        assertEquals(1, p.lastReport().refused().size());
        assertEquals("pw2", p.lastReport().refused().get(0).name());
        assertTrue(p.lastReport().refused().get(0).reason().contains("graph input 'x'"),
                p.lastReport().refused().get(0).reason());
        assertArrayEquals(new long[] {4, 4, 1, 1}, PruneTesting.dims(m, "pw2.weight"));
    }

    @Test
    void widthsRoundAndNeverVanish() {
        ConvChannelsPass.Options o = ConvChannelsPass.Options.of(0.25, FfnRatioPass.Criterion.RANDOM);
        assertEquals(48, o.targetWidth(64));
        assertEquals(48, o.withRoundTo(16).targetWidth(64));
        assertEquals(8, o.withRoundTo(8).targetWidth(8), "at least one multiple");
        assertEquals(1, ConvChannelsPass.Options.of(0.99, FfnRatioPass.Criterion.RANDOM).targetWidth(6));
        assertThrows(IllegalArgumentException.class, () -> ConvChannelsPass.Options.of(1, FfnRatioPass.Criterion.RANDOM));
        assertThrows(IllegalArgumentException.class, () -> ConvChannelsPass.Options.of(0, FfnRatioPass.Criterion.RANDOM));
    }

    @Test
    void aModelWithoutConvolutionsIsUnchanged() {
        Model m = PruneTesting.mlp();
        byte[] before = OnnxWriter.toBytes(m);
        assertFalse(pass(0.5).run(m, PassContext.defaults()).changed());
        assertArrayEquals(before, OnnxWriter.toBytes(m));
    }

    @Test
    void theRegisteredDescriptorParsesItsOptions() {
        ConvChannelsPass p = (ConvChannelsPass) PassRegistry.standard().get(ConvChannelsPass.ID).create(Map.of(
                "fraction", "0.5", "importance", "random", "round-to", "2", "seed", "4"));
        assertEquals(new ConvChannelsPass.Options(0.5, FfnRatioPass.Criterion.RANDOM, MagnitudeImportance.Norm.L1, 2, 4,
                null, 0, ScoreNormalization.MAX), p.options());
        assertThrows(IllegalArgumentException.class, () -> PassRegistry.standard().get(ConvChannelsPass.ID)
                .create(Map.of("fraction", "1.5")));
    }
}
