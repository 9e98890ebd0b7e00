package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.testing.ReferenceInputs;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ExecutionProvider;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.OptimizationLevel;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.LabelledImages;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every reference model is differentiable end to end: its gradient model builds (every float
 * weight that reaches the loss differentiated), runs one small batch of real inputs in ONNX
 * Runtime, and a handful of gradient entries agree with central finite differences of the loss
 * recomputed here from the forward model's outputs (float; step and tolerance as in
 * {@link GradientCheck}).
 *
 * <p>The gradient model run with ONNX Runtime's full optimization (as a trainer runs it) must
 * give the same gradients as run without.
 *
 * <p>The loss: cross-entropy on the first output against the test set's labels for the
 * classifiers and for memvit's task A; for navit, whose logits have one row per image slot of a
 * pack (slots the pack leaves empty included), seeded random labels; for detr, mean squared error
 * on both outputs (class logits and boxes) against seeded random targets.
 *
 * <p>NOTE: the entries checked are one of the first weight, one of the last, then one weight per
 * kind of reader (the op type and input slot that read it, grouped convolutions apart) in a
 * seeded random order, so a wrong rule for one op is met even when few weights feed it; within a
 * weight, the entry of largest gradient among 16 random ones, so the check is not spent on entries
 * below the finite difference's noise floor (as {@link VitGradientTest} explains).
 */
class ReferenceModelGradientsTest {
    private static final int BATCH = 4;
    private static final int ENTRIES = 10;
    private static ReferenceModels registry;

    @BeforeAll
    static void locate() throws IOException {
        registry = ReferenceModels.locate();
    }

    static Stream<String> models() throws IOException {
        return ReferenceModels.locate().all().stream().map(ReferenceModel::name);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void gradientsMatchFiniteDifferences(String name) throws Exception {
        ReferenceModel ref = registry.get(name);
        Model forward = OnnxReader.read(ref.file());
        boolean detection = ref.task() == ReferenceModel.Task.DETECTION;
        List<String> outputs = detection
                ? forward.graph().outputs().stream().map(Value::name).toList()
                : List.of(forward.graph().outputs().get(0).name());
        Loss loss = detection ? Loss.meanSquaredError() : Loss.crossEntropy();
        GradientModel gm = new GradientBuilder().build(forward,
                new GradientSpec(outputs, loss, List.of(), List.of(), false));
        assertFalse(gm.weights().isEmpty());

        Map<String, Tensor> inputs = ReferenceInputs.feeds(registry, ref, BATCH);
        Model probe = GradientCheck.weightsAsInputs(forward, gm);
        SplittableRandom random = new SplittableRandom(name.hashCode());
        try (ModelRunner grad = ModelRunner.open(gm.model(), RunOptions.reference());
             ModelRunner fwd = ModelRunner.open(probe, RunOptions.reference())) {
            Map<String, Tensor> probeFeeds = new LinkedHashMap<>(inputs);
            probeFeeds.putAll(gm.initialWeights());
            Map<String, Tensor> y0 = fwd.run(probeFeeds);
            LossFunction lossOf = detection ? mse(y0, outputs, random)
                    : crossEntropy(ref, outputs.get(0), y0.get(outputs.get(0)), random);

            Map<String, Tensor> feeds = new LinkedHashMap<>(probeFeeds);
            feeds.putAll(lossOf.references(gm));
            Map<String, Tensor> got = grad.run(feeds);
            double loss0 = lossOf.apply(y0);
            assertEquals(loss0, got.get(gm.lossOutput()).toDoubleArray()[0], 1e-5 * Math.max(1, loss0), "loss value");

            double eps = Math.ulp(1.0f);
            double scale = 0;
            for (GradientModel.WeightGradient w : gm.weights()) {
                for (float v : got.get(w.gradient()).toFloatArray()) {
                    scale = Math.max(scale, Math.abs(v));
                }
            }
            List<String> failures = new ArrayList<>();
            for (GradientModel.WeightGradient w : chosen(forward, gm, random)) {
                float[] analytic = got.get(w.gradient()).toFloatArray();
                int j = random.nextInt(analytic.length);
                for (int t = 0; t < 15; t++) {
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
                double lp = lossOf.apply(fwd.run(with(probeFeeds, w, plus)));
                double lm = lossOf.apply(fwd.run(with(probeFeeds, w, minus)));
                double fd = (lp - lm) / ((double) plus[j] - minus[j]);
                double tol = 1e-2 * Math.abs(analytic[j]) + 1e-3 * scale + 64 * eps * Math.abs(loss0) / h;
                if (Math.abs(fd - analytic[j]) > tol) {
                    failures.add("d loss / d " + w.weight() + "[" + j + "]: finite difference " + fd + ", gradient model "
                            + analytic[j] + " (|diff| " + Math.abs(fd - analytic[j]) + " > tol " + tol + ")");
                }
            }
            assertEquals(List.of(), failures, name);

            // a trainer runs the gradient model with ONNX Runtime's full optimization: its fusions
            // must leave the gradients as they are
            try (ModelRunner optimized = ModelRunner.open(gm.model(),
                    new RunOptions(ExecutionProvider.CPU, 2, OptimizationLevel.ALL))) {
                Map<String, Tensor> fast = optimized.run(feeds);
                for (GradientModel.WeightGradient w : gm.weights()) {
                    float[] expected = got.get(w.gradient()).toFloatArray();
                    float[] actual = fast.get(w.gradient()).toFloatArray();
                    double worst = 0;
                    for (int i = 0; i < expected.length; i++) {
                        worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
                    }
                    assertTrue(worst <= 1e-4 * scale, () -> name + ": " + w.weight() + " differs under full optimization");
                }
            }
        }
    }

    /** The first weight, the last, then one per kind of reader, then any: {@link #ENTRIES} in all. */
    private static List<GradientModel.WeightGradient> chosen(Model forward, GradientModel gm, SplittableRandom random) {
        List<GradientModel.WeightGradient> all = gm.weights();
        Map<String, List<GradientModel.WeightGradient>> byReader = new TreeMap<>();
        for (GradientModel.WeightGradient w : all) {
            Value v = forward.graph().initializer(w.weight());
            String kind = v.uses().isEmpty() ? "-" : reader(v.uses().get(0));
            byReader.computeIfAbsent(kind, k -> new ArrayList<>()).add(w);
        }
        List<GradientModel.WeightGradient> out = new ArrayList<>(List.of(all.get(0), all.get(all.size() - 1)));
        List<String> kinds = new ArrayList<>(byReader.keySet());
        while (out.size() < ENTRIES && !kinds.isEmpty()) {
            List<GradientModel.WeightGradient> of = byReader.get(kinds.remove(random.nextInt(kinds.size())));
            out.add(of.get(random.nextInt(of.size())));
        }
        while (out.size() < ENTRIES) {
            out.add(all.get(random.nextInt(all.size())));
        }
        return out;
    }

    /** What reads a weight: the op type (grouped convolutions apart) and the input slot. */
    private static String reader(Use use) {
        Node n = use.node();
        return (n.is("Conv") && n.intAttr("group", 1) != 1 ? "Conv/grouped" : n.opType()) + "#" + use.inputIndex();
    }

    private static Map<String, Tensor> with(Map<String, Tensor> feeds, GradientModel.WeightGradient w, float[] values) {
        Map<String, Tensor> f = new LinkedHashMap<>(feeds);
        f.put(w.input(), Tensor.ofFloats(w.input(), w.initial().dims(), values));
        return f;
    }

    /** The loss recomputed in double from forward outputs, and the reference inputs it feeds the gradient model. */
    private interface LossFunction {
        double apply(Map<String, Tensor> outputs);

        Map<String, Tensor> references(GradientModel gm);
    }

    private static LossFunction crossEntropy(ReferenceModel ref, String name, Tensor logits, SplittableRandom random)
            throws IOException {
        long[] dims = logits.dims();
        int rows = Math.toIntExact(dims[0]);
        long classes = dims[dims.length - 1];
        long[] labels = new long[rows];
        if (ref.task() == ReferenceModel.Task.PACKED) {
            for (int i = 0; i < rows; i++) {
                labels[i] = random.nextLong(classes);
            }
        } else {
            int[] all = LabelledImages.read(registry.dataFile("test_images"), registry.dataFile("test_labels")).labels();
            for (int i = 0; i < rows; i++) {
                labels[i] = all[i];
            }
        }
        return new LossFunction() {
            @Override
            public double apply(Map<String, Tensor> outputs) {
                return VitGradientTest.crossEntropy(outputs.get(name).toFloatArray(), labels);
            }

            @Override
            public Map<String, Tensor> references(GradientModel gm) {
                String in = gm.referenceInputs().get(0);
                return Map.of(in, Tensor.ofLongs(in, new long[] {rows}, labels));
            }
        };
    }

    private static LossFunction mse(Map<String, Tensor> y0, List<String> outputs, SplittableRandom random) {
        List<double[]> targets = new ArrayList<>();
        for (String o : outputs) {
            double[] t = new double[Math.toIntExact(y0.get(o).numElements())];
            for (int i = 0; i < t.length; i++) {
                t[i] = random.nextDouble();
            }
            targets.add(t);
        }
        return new LossFunction() {
            @Override
            public double apply(Map<String, Tensor> ys) {
                return GradientCheck.mse(ys, outputs, targets);
            }

            @Override
            public Map<String, Tensor> references(GradientModel gm) {
                Map<String, Tensor> out = new LinkedHashMap<>();
                for (int i = 0; i < outputs.size(); i++) {
                    String in = gm.referenceInputs().get(i);
                    out.put(in, GradientCheck.tensorOf(DataType.FLOAT, in, y0.get(outputs.get(i)).dims(), targets.get(i)));
                }
                return out;
            }
        };
    }
}
