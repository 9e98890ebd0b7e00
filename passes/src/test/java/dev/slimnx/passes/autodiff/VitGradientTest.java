package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.testing.ReferenceInputs;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.LabelledImages;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The reference ViT end to end: cross-entropy on 8 real test images with their labels, gradients
 * of every weight, and 20 seeded entries checked against central differences on the forward model
 * (float; step and tolerance as in {@link GradientCheck}). The loss itself is recomputed here from
 * the forward logits.
 *
 * <p>NOTE: entries are drawn so that the check means something: the weights of {@link #FIRST},
 * then weights at random; within a weight, the
 * entry of largest gradient among 16 random entries of it. A uniform draw would mostly land on
 * entries whose gradient is below the finite difference's noise floor and prove little.
 */
class VitGradientTest {
    private static final int BATCH = 8;
    private static final int ENTRIES = 20;
    /** Weights always among those checked: the Conv patch embedding, the position embedding, the class token. */
    private static final String[] FIRST = {"patch_embed.weight", "patch_embed.bias", "pos_embed", "cls_token"};

    @Test
    void crossEntropyGradientsOfEveryWeightMatchFiniteDifferences() throws Exception {
        ReferenceModels registry = ReferenceModels.locate();
        ReferenceModel ref = registry.get("vit");
        Model forward = OnnxReader.read(ref.file());
        String logitsName = forward.graph().outputs().get(0).name();
        GradientModel gm = new GradientBuilder().build(forward, GradientSpec.of(Loss.crossEntropy(), logitsName));
        long floatInitializers = forward.graph().initializers().stream()
                .filter(v -> v.initializer().dataType() == dev.slimnx.graph.tensor.DataType.FLOAT).count();
        assertEquals(floatInitializers, gm.weights().size(), "every float weight reaches the loss");

        Map<String, Tensor> inputs = ReferenceInputs.feeds(registry, ref, BATCH);
        int[] labelsAll = LabelledImages.read(registry.dataFile("test_images"), registry.dataFile("test_labels")).labels();
        long[] labels = new long[BATCH];
        for (int i = 0; i < BATCH; i++) {
            labels[i] = labelsAll[i];
        }
        Map<String, Tensor> feeds = new LinkedHashMap<>(inputs);
        feeds.putAll(gm.initialWeights());
        feeds.put(gm.referenceInputs().get(0), Tensor.ofLongs("labels", new long[] {BATCH}, labels));

        Model probe = GradientCheck.weightsAsInputs(forward, gm);
        try (ModelRunner grad = ModelRunner.open(gm.model(), RunOptions.reference());
             ModelRunner fwd = ModelRunner.open(probe, RunOptions.reference())) {
            Map<String, Tensor> got = grad.run(feeds);
            Map<String, Tensor> probeFeeds = new LinkedHashMap<>(inputs);
            probeFeeds.putAll(gm.initialWeights());
            double loss0 = crossEntropy(fwd.run(probeFeeds).get(logitsName).toFloatArray(), labels);
            assertEquals(loss0, got.get(gm.lossOutput()).toDoubleArray()[0], 1e-5 * Math.max(1, loss0));

            double eps = Math.ulp(1.0f);
            double scale = 0;
            for (GradientModel.WeightGradient w : gm.weights()) {
                for (float v : got.get(w.gradient()).toFloatArray()) {
                    scale = Math.max(scale, Math.abs(v));
                }
            }
            SplittableRandom random = new SplittableRandom(2024);
            int checked = 0;
            while (checked < ENTRIES) {
                GradientModel.WeightGradient w = checked < FIRST.length ? gm.weight(FIRST[checked])
                        : gm.weights().get(random.nextInt(gm.weights().size()));
                float[] analytic = got.get(w.gradient()).toFloatArray();
                int j = random.nextInt(analytic.length);
                for (int k = 0; k < 15; k++) {
                    int cand = random.nextInt(analytic.length);
                    if (Math.abs(analytic[cand]) > Math.abs(analytic[j])) {
                        j = cand;
                    }
                }
                float[] base = w.initial().toFloatArray();
                double h = Math.cbrt(eps) * Math.max(1, Math.abs(base[j]));
                float[] plus = base.clone();
                float[] minus = base.clone();
                plus[j] = (float) (base[j] + h);
                minus[j] = (float) (base[j] - h);
                double lp = lossWith(fwd, probeFeeds, w, plus, logitsName, labels);
                double lm = lossWith(fwd, probeFeeds, w, minus, logitsName, labels);
                double fd = (lp - lm) / ((double) plus[j] - minus[j]);
                double tol = 1e-2 * Math.abs(analytic[j]) + 1e-3 * scale + 64 * eps * Math.abs(loss0) / h;
                float an = analytic[j];
                int at = j;
                assertTrue(Math.abs(fd - an) <= tol, () -> "d loss / d " + w.weight() + "[" + at + "]: finite difference "
                        + fd + ", gradient model " + an + " (|diff| " + Math.abs(fd - an) + " > tol " + tol + ")");
                checked++;
            }
        }
    }

    private static double lossWith(ModelRunner fwd, Map<String, Tensor> feeds, GradientModel.WeightGradient w,
                                   float[] values, String logits, long[] labels) {
        Map<String, Tensor> f = new LinkedHashMap<>(feeds);
        f.put(w.input(), Tensor.ofFloats(w.input(), w.initial().dims(), values));
        return crossEntropy(fwd.run(f).get(logits).toFloatArray(), labels);
    }

    /** Mean over rows of -log softmax(row)[label], in double. */
    static double crossEntropy(float[] logits, long[] labels) {
        int classes = logits.length / labels.length;
        double total = 0;
        for (int n = 0; n < labels.length; n++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < classes; c++) {
                max = Math.max(max, logits[n * classes + c]);
            }
            double sum = 0;
            for (int c = 0; c < classes; c++) {
                sum += Math.exp(logits[n * classes + c] - max);
            }
            total += -(logits[n * classes + (int) labels[n]] - max - Math.log(sum));
        }
        return total / labels.length;
    }
}
