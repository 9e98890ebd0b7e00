package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassRegistry;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The pass on small models: widths, rounding, the report, idempotence, refusals. */
class FfnRatioPassTest {

    private static FfnRatioPass pass(double ratio, FfnRatioPass.Criterion criterion, int roundTo) {
        return new FfnRatioPass(FfnRatioPass.Options.of(ratio, criterion).withRoundTo(roundTo));
    }

    @Test
    void prunesTheHiddenLayerToTheRatioKeepingTheLargestUnits() {
        Model m = PruneTesting.mlp();
        Model original = m.copy();
        FfnRatioPass p = pass(1, FfnRatioPass.Criterion.MAGNITUDE, 1);
        PassResult r = PassTesting.run(p, m);
        assertTrue(r.changed());
        assertEquals(Map.of("FFN hidden layers pruned", 1, "hidden units removed", 4), r.counts());
        PruneReport report = p.lastReport();
        assertEquals(1, report.pruned().size());
        PruneReport.Group g = report.pruned().get(0);
        assertEquals("fc1", g.name());
        assertEquals(8, g.widthBefore());
        assertEquals(4, g.widthAfter());
        assertEquals(4, g.inputWidth());
        double[] scores = new MagnitudeImportance(MagnitudeImportance.Norm.L1).scores(original,
                List.of(new ChannelDependencies(original).groupOf(PruneTesting.value(original, "fc1.weight"), 1)),
                PassContext.defaults()).get(0);
        assertArrayEquals(FfnRatioPass.topIndices(scores, 4), g.kept());
        assertEquals(1.0, g.scores().max(), 1e-12, "scores normalised by the layer's maximum");
        assertTrue(g.scores().lowestKept() >= g.scores().highestRemoved());
        assertEquals(ModelStats.of(original).parameterCount(), report.parametersBefore());
        assertEquals(ModelStats.of(m).parameterCount(), report.parametersAfter());
        assertEquals(report.parametersBefore() - 4 * (4 + 1 + 4), report.parametersAfter());
        assertTrue(report.macsAfter() < report.macsBefore());
        Model reference = original.copy();
        PruneTesting.zero(reference, "fc2.weight", 0, PruneTesting.complement(8, g.kept()));
        PassTesting.assertSameOutputs(reference, m, 1e-5, 1e-5);
        PassTesting.assertUnchanged(pass(1, FfnRatioPass.Criterion.MAGNITUDE, 1), m);
    }

    @Test
    void aRatioAtOrAboveTheModelsOwnChangesNothing() {
        PassTesting.assertUnchanged(pass(2, FfnRatioPass.Criterion.RANDOM, 1), PruneTesting.mlp());
        PassTesting.assertUnchanged(pass(3, FfnRatioPass.Criterion.RANDOM, 1), PruneTesting.convFfn());
        FfnRatioPass p = pass(2, FfnRatioPass.Criterion.MAGNITUDE, 1);
        p.run(PruneTesting.mlp(), PassContext.defaults());
        assertEquals(List.of("fc1"), p.lastReport().unchanged());
    }

    @Test
    void targetWidthsRoundToTheMultipleAndNeverGrow() {
        FfnRatioPass.Options two = FfnRatioPass.Options.of(2, FfnRatioPass.Criterion.MAGNITUDE);
        assertEquals(128, two.targetWidth(64, 256));
        assertEquals(96, two.targetWidth(48, 192));
        assertEquals(128, two.targetWidth(64, 128), "already at the ratio");
        assertEquals(96, FfnRatioPass.Options.of(4, FfnRatioPass.Criterion.MAGNITUDE).targetWidth(48, 96),
                "a higher ratio does not grow the layer");
        assertEquals(104, FfnRatioPass.Options.of(1.6, FfnRatioPass.Criterion.MAGNITUDE).targetWidth(64, 256),
                "102.4 rounds to the nearest multiple of 8");
        assertEquals(8, FfnRatioPass.Options.of(0.01, FfnRatioPass.Criterion.MAGNITUDE).targetWidth(64, 256),
                "at least one multiple");
        assertEquals(6, two.targetWidth(3, 6), "a layer narrower than the multiple stays");
        assertEquals(3, FfnRatioPass.Options.of(1, FfnRatioPass.Criterion.MAGNITUDE).withRoundTo(1).targetWidth(3, 6));
    }

    @Test
    void tiesGoToTheLowerIndex() {
        assertArrayEquals(new int[] {0, 2}, FfnRatioPass.topIndices(new double[] {1, 0, 1, 1}, 2));
        assertArrayEquals(new int[] {1, 3}, FfnRatioPass.topIndices(new double[] {0, 5, 1, 4}, 2));
    }

    @Test
    void aRefusedLayerIsReportedAndLeftAlone() {
        Model m = ChannelDependenciesTest.mlpWith("com.example", "Swish");
        FfnRatioPass p = pass(1, FfnRatioPass.Criterion.MAGNITUDE, 1);
        byte[] before = OnnxWriter.toBytes(m);
        PassResult r = p.run(m, PassContext.defaults());
        assertFalse(r.changed());
        assertArrayEquals(before, OnnxWriter.toBytes(m));
        assertEquals(List.of(new PruneReport.Refusal("fc1", "no channel rule for com.example.Swish 'act' (domain com.example)")),
                p.lastReport().refused());
    }

    @Test
    void taylorWithoutDataIsRefusedBeforeAnythingChanges() {
        Model m = PruneTesting.mlp();
        byte[] before = OnnxWriter.toBytes(m);
        FfnRatioPass p = pass(1, FfnRatioPass.Criterion.TAYLOR, 1);
        PassRefusedException e = assertThrows(PassRefusedException.class, () -> p.requires(m));
        assertTrue(e.getMessage().contains("needs calibration data"), e.getMessage());
        assertThrows(PassRefusedException.class, () -> p.run(m, PassContext.defaults()));
        assertArrayEquals(before, OnnxWriter.toBytes(m));
    }

    @Test
    void theRegisteredDescriptorParsesItsOptions() {
        FfnRatioPass p = (FfnRatioPass) PassRegistry.standard().get(FfnRatioPass.ID).create(Map.of("ratio", "1.5",
                "importance", "Magnitude", "norm", "l2", "round-to", "16", "seed", "3", "normalization", "sum"));
        assertEquals(new FfnRatioPass.Options(1.5, FfnRatioPass.Criterion.MAGNITUDE, MagnitudeImportance.Norm.L2, 16, 3,
                null, 0, ScoreNormalization.SUM), p.options());
        assertFalse(PassRegistry.standard().losslessIds().contains(FfnRatioPass.ID));
        assertThrows(IllegalArgumentException.class, () -> PassRegistry.standard().get(FfnRatioPass.ID)
                .create(Map.of("importance", "fisher")));
        assertThrows(IllegalArgumentException.class, () -> PassRegistry.standard().get(FfnRatioPass.ID)
                .create(Map.of("ratio", "0")));
        assertThrows(IllegalArgumentException.class, () -> PassRegistry.standard().get(FfnRatioPass.ID)
                .create(Map.of("norm", "l3")));
        FfnRatioPass withData = (FfnRatioPass) FfnRatioPass.descriptor(ImportanceData.of(List.of()))
                .create(Map.of("calib-batches", "2"));
        assertEquals(FfnRatioPass.Criterion.TAYLOR, withData.options().criterion());
        assertEquals(2, withData.options().calibBatches());
    }

    @Test
    void taylorPrunesWithCalibrationData() {
        Model m = PruneTesting.mlp();
        Value x = m.graph().inputs().get(0);
        ImportanceData data = ImportanceData.unlabelled(dev.slimnx.passes.quant.CalibrationData.of(List.of(
                PassTesting.randomFeeds(m, 1, 4), PassTesting.randomFeeds(m, 2, 4))));
        // without labels the loss is the KL to the model's own output, read as scores over its last axis
        FfnRatioPass p = new FfnRatioPass(FfnRatioPass.Options.of(1, FfnRatioPass.Criterion.TAYLOR).withRoundTo(1)
                .withData(data, 0));
        PassTesting.run(p, m);
        assertEquals("taylor", p.lastReport().importance());
        assertArrayEquals(new long[] {4, 4}, PruneTesting.dims(m, "fc1.weight"));
        assertEquals(x, m.graph().inputs().get(0));
    }
}
