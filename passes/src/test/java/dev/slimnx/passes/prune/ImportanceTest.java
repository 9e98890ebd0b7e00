package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassContext;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Magnitude against sums by hand, random against its seed, and Taylor against a central
 * difference: scaling all of channel c's weights by {@code 1 + t} changes the loss at the rate
 * {@code Σ w·∂L/∂w} over those weights, which is the Taylor score of one batch before its
 * absolute value.
 */
class ImportanceTest {
    private static final int BATCH = 6;

    /** A classifier: logits = fc2(relu(fc1(x) + b1)) + b2 on x [batch, 5], hidden 6, 3 classes. */
    private static Model classifier() {
        GraphBuilder b = new GraphBuilder(PruneTesting.OPSET, 31);
        Value x = b.input("x", DataType.FLOAT, "batch", 5);
        Value h = b.node("MatMul", x, b.initializer(b.randomFloats("fc1.weight", 5, 6))).name("fc1").value();
        h = b.node("Add", h, b.initializer(b.randomFloats("fc1.bias", 6))).name("fc1_bias").value();
        h = b.node("Relu", h).name("relu").value();
        Value o = b.node("MatMul", h, b.initializer(b.randomFloats("fc2.weight", 6, 3))).name("fc2").value();
        o = b.node("Add", o, b.initializer(b.randomFloats("fc2.bias", 3))).name("logits").value();
        b.output(o, DataType.FLOAT, "batch", 3);
        return b.build();
    }

    private static ImportanceData.Batch batch(long seed, boolean labelled) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[BATCH * 5];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 4 - 2);
        }
        long[] labels = new long[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = r.nextInt(3);
        }
        return new ImportanceData.Batch(Map.of("x", Tensor.ofFloats("x", new long[] {BATCH, 5}, x)),
                labelled ? Tensor.ofLongs("labels", new long[] {BATCH}, labels) : null);
    }

    private static ChannelGroup hidden(Model m) {
        return new ChannelDependencies(m).groupOf(PruneTesting.value(m, "fc1.weight"), 1);
    }

    @Test
    void magnitudeSumsTheChannelsWeightsAcrossTheGroup() {
        Model m = PruneTesting.convFfn();
        ChannelGroup g = new ChannelDependencies(m).groupOf(PruneTesting.value(m, "pw1.weight"), 0);
        double[] l1 = new MagnitudeImportance(MagnitudeImportance.Norm.L1).scores(m, List.of(g), PassContext.defaults()).get(0);
        double[] l2 = new MagnitudeImportance(MagnitudeImportance.Norm.L2).scores(m, List.of(g), PassContext.defaults()).get(0);
        float[] w1 = m.graph().initializer("pw1.weight").initializer().toFloatArray();
        float[] b1 = m.graph().initializer("pw1.bias").initializer().toFloatArray();
        float[] bnW = m.graph().initializer("bn1.weight").initializer().toFloatArray();
        float[] bnB = m.graph().initializer("bn1.bias").initializer().toFloatArray();
        float[] w2 = m.graph().initializer("pw2.weight").initializer().toFloatArray();
        for (int c = 0; c < 8; c++) {
            double abs = Math.abs(b1[c]) + Math.abs(bnW[c]) + Math.abs(bnB[c]);
            double sq = b1[c] * b1[c] + bnW[c] * bnW[c] + bnB[c] * bnB[c];
            for (int i = 0; i < 4; i++) {
                abs += Math.abs(w1[c * 4 + i]) + Math.abs(w2[i * 8 + c]);
                sq += w1[c * 4 + i] * w1[c * 4 + i] + w2[i * 8 + c] * w2[i * 8 + c];
            }
            assertEquals(abs, l1[c], 1e-6, "L1 of channel " + c + " (running statistics left out)");
            assertEquals(Math.sqrt(sq), l2[c], 1e-6, "L2 of channel " + c);
        }
    }

    @Test
    void randomScoresRepeatWithTheSeedAndChangeWithIt() {
        Model m = PruneTesting.mlp();
        List<ChannelGroup> groups = List.of(hidden(m));
        double[] a = new RandomImportance(4).scores(m, groups, PassContext.defaults()).get(0);
        double[] b = new RandomImportance(4).scores(m, groups, PassContext.defaults()).get(0);
        double[] c = new RandomImportance(5).scores(m, groups, PassContext.defaults()).get(0);
        assertArrayEquals(a, b);
        assertFalse(java.util.Arrays.equals(a, c));
        for (double s : a) {
            assertTrue(s >= 0 && s < 1);
        }
    }

    @Test
    void taylorIsTheRateOfChangeOfTheLossWhenAChannelScales() {
        Model m = classifier();
        ChannelGroup g = hidden(m);
        ImportanceData.Batch one = batch(1, true);
        double[] taylor = new TaylorImportance(ImportanceData.of(List.of(one)), TaylorImportance.Options.defaults())
                .scores(m, List.of(g), PassContext.defaults()).get(0);
        double h = 1e-2;
        boolean anyNonZero = false;
        for (int c = 0; c < g.width(); c++) {
            double rate = (loss(scaled(m, g, c, 1 + h), one) - loss(scaled(m, g, c, 1 - h), one)) / (2 * h);
            assertEquals(Math.abs(rate), taylor[c], 2e-2 * Math.abs(rate) + 2e-4, "channel " + c);
            anyNonZero |= taylor[c] > 1e-4;
        }
        assertTrue(anyNonZero);
        // two batches add their absolute values
        ImportanceData.Batch two = batch(2, true);
        double[] both = new TaylorImportance(ImportanceData.of(List.of(one, two)), TaylorImportance.Options.defaults())
                .scores(m, List.of(g), PassContext.defaults()).get(0);
        double[] second = new TaylorImportance(ImportanceData.of(List.of(two)), TaylorImportance.Options.defaults())
                .scores(m, List.of(g), PassContext.defaults()).get(0);
        for (int c = 0; c < g.width(); c++) {
            assertEquals(taylor[c] + second[c], both[c], 1e-6 * (1 + both[c]));
        }
    }

    @Test
    void withoutLabelsTaylorComparesWithASharpenedCopyOfTheModelsOwnOutputs() {
        Model m = classifier();
        ChannelGroup g = hidden(m);
        double[] unlabelled = new TaylorImportance(ImportanceData.of(List.of(batch(1, false))),
                TaylorImportance.Options.defaults()).scores(m, List.of(g), PassContext.defaults()).get(0);
        double max = 0;
        for (double s : unlabelled) {
            assertTrue(s >= 0);
            max = Math.max(max, s);
        }
        assertTrue(max > 1e-4, "a sharpened teacher gives the KL a gradient at the unpruned weights");
        assertThrows(IllegalArgumentException.class, () -> new TaylorImportance.Options(0, null, 1.0));
        assertThrows(IllegalArgumentException.class, () -> new TaylorImportance(ImportanceData.of(List.of(
                batch(1, true), batch(2, false))), TaylorImportance.Options.defaults())
                .scores(m, List.of(g), PassContext.defaults()));
    }

    @Test
    void scoresNormalisePerLayer() {
        assertArrayEquals(new double[] {0.5, 1, 0}, ScoreNormalization.MAX.apply(new double[] {2, 4, 0}));
        assertArrayEquals(new double[] {1 / 3.0, 2 / 3.0, 0}, ScoreNormalization.SUM.apply(new double[] {2, 4, 0}), 1e-12);
        assertArrayEquals(new double[] {0, 0}, ScoreNormalization.MAX.apply(new double[] {0, 0}));
        assertEquals(ScoreNormalization.SUM, ScoreNormalization.parse(" Sum "));
        assertThrows(IllegalArgumentException.class, () -> ScoreNormalization.parse("mean"));
    }

    /** A copy of {@code m} with every weight of channel c in the group multiplied by {@code factor}. */
    private static Model scaled(Model m, ChannelGroup g, int c, double factor) {
        Model copy = m.copy();
        for (ChannelMember member : g.constants()) {
            Value v = copy.graph().initializer(member.value().name());
            Tensor t = v.initializer();
            float[] values = t.toFloatArray();
            long[] dims = t.dims();
            long inner = 1;
            for (int i = member.axis() + 1; i < dims.length; i++) {
                inner *= dims[i];
            }
            for (int i = 0; i < values.length; i++) {
                if ((i / inner) % dims[member.axis()] == c) {
                    values[i] = (float) (values[i] * factor);
                }
            }
            copy.graph().setInitializerData(v, Tensor.ofFloats(v.name(), dims, values));
        }
        return copy;
    }

    /** Mean softmax cross-entropy of the model on the batch, in double. */
    private static double loss(Model m, ImportanceData.Batch batch) {
        float[] logits;
        try (ModelRunner r = ModelRunner.open(m, RunOptions.reference())) {
            logits = r.run(batch.feeds()).get("logits_out0").toFloatArray();
        }
        long[] labels = batch.labels().toLongArray();
        double total = 0;
        for (int n = 0; n < labels.length; n++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < 3; k++) {
                max = Math.max(max, logits[n * 3 + k]);
            }
            double sum = 0;
            for (int k = 0; k < 3; k++) {
                sum += Math.exp(logits[n * 3 + k] - max);
            }
            total += -(logits[n * 3 + (int) labels[n]] - max - Math.log(sum));
        }
        return total / labels.length;
    }
}
