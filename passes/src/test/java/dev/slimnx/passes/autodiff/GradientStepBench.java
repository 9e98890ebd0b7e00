package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.testing.ReferenceInputs;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.OptimizationLevel;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.LabelledImages;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A hidden benchmark, not a test (surefire runs only {@code *Test} classes): the time of one
 * gradient step (the gradient model's forward and backward pass, as a trainer runs it) against one
 * forward pass of the model, both through {@link ModelRunner} with ONNX Runtime's full
 * optimization on the CPU.
 *
 * <p>Method: real test images (and their labels) at the chosen batch; each runner is warmed up,
 * then the two are run alternately {@code runs} times so drift in the machine's load hits both
 * alike; the ratio of the medians is reported, with each median and its interquartile range, and
 * the ratio of the minimums and of the process CPU time per run (ONNX Runtime's threads included),
 * which a machine shared with other jobs disturbs less than wall time.
 * The optimizer update is not included: it is a few elementwise passes over the weights, done
 * by the trainer outside ONNX Runtime. A second ratio is against the forward model with its
 * weights as graph inputs, as the gradient model has them: ONNX Runtime prepacks constant MatMul
 * weights and runs convolutions with constant filters in its NCHWc layout, neither of which a
 * model whose weights are fed each step gets, so part of the first ratio is that difference.
 *
 * <pre>
 * java -cp "$(test classpath)" dev.slimnx.passes.autodiff.GradientStepBench [--batch 64] [--threads 2]
 *     [--runs 20] [--model FILE] [NAME...]
 * </pre>
 * {@code --model FILE} benchmarks an ONNX classifier outside the registry (random images, random
 * labels): the ViT-B/16-sized model of {@code scratch/}, say.
 */
public final class GradientStepBench {
    private GradientStepBench() {
    }

    public static void main(String[] args) throws Exception {
        int batch = 64;
        int threads = 2;
        int runs = 20;
        Path file = null;
        java.util.List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--batch" -> batch = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--runs" -> runs = Integer.parseInt(args[++i]);
                case "--model" -> file = Path.of(args[++i]);
                default -> names.add(args[i]);
            }
        }
        RunOptions options = new RunOptions(dev.slimnx.runtime.ExecutionProvider.CPU, threads, OptimizationLevel.ALL);
        if (file != null) {
            Model forward = OnnxReader.read(file);
            bench(file.getFileName().toString(), forward, randomFeeds(forward, batch), randomLabels(forward, batch),
                    options, runs);
        }
        if (names.isEmpty() && file == null) {
            names = java.util.List.of("vit", "efficientvit");
        }
        ReferenceModels registry = ReferenceModels.locate();
        for (String name : names) {
            ReferenceModel ref = registry.get(name);
            Model forward = OnnxReader.read(ref.file());
            Map<String, Tensor> inputs = ReferenceInputs.feeds(registry, ref, batch);
            int[] all = LabelledImages.read(registry.dataFile("test_images"), registry.dataFile("test_labels")).labels();
            long[] labels = new long[batch];
            for (int i = 0; i < batch; i++) {
                labels[i] = all[i];
            }
            bench(name, forward, inputs, labels, options, runs);
        }
    }

    private static void bench(String name, Model forward, Map<String, Tensor> inputs, long[] labels, RunOptions options,
                              int runs) {
        String logits = forward.graph().outputs().get(0).name();
        long t0 = System.nanoTime();
        GradientModel gm = new GradientBuilder().build(forward, GradientSpec.of(Loss.crossEntropy(), logits));
        double buildMs = (System.nanoTime() - t0) / 1e6;
        Map<String, Integer> ops = new TreeMap<>();
        for (Node n : gm.model().graph().nodes()) {
            ops.merge(n.opType(), 1, Integer::sum);
        }
        Map<String, Tensor> feeds = new LinkedHashMap<>(inputs);
        feeds.putAll(gm.initialWeights());
        feeds.put(gm.referenceInputs().get(0), Tensor.ofLongs("labels", new long[] {labels.length}, labels));
        Map<String, Tensor> probeFeeds = new LinkedHashMap<>(inputs);
        probeFeeds.putAll(gm.initialWeights());
        try (ModelRunner fwd = ModelRunner.open(forward, options);
             ModelRunner grad = ModelRunner.open(gm.model(), options);
             ModelRunner probe = ModelRunner.open(GradientCheck.weightsAsInputs(forward, gm), options)) {
            for (int i = 0; i < 3; i++) {
                fwd.run(inputs);
                grad.run(feeds);
                probe.run(probeFeeds);
            }
            double[] tf = new double[runs];
            double[] tg = new double[runs];
            double[] tp = new double[runs];
            double cpuF = 0;
            double cpuG = 0;
            double cpuP = 0;
            var os = (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                    .getOperatingSystemMXBean();
            for (int i = 0; i < runs; i++) {
                long ca = os.getProcessCpuTime();
                long a = System.nanoTime();
                fwd.run(inputs);
                long b = System.nanoTime();
                long cb = os.getProcessCpuTime();
                grad.run(feeds);
                long c = System.nanoTime();
                long cc = os.getProcessCpuTime();
                probe.run(probeFeeds);
                long d = System.nanoTime();
                long cd = os.getProcessCpuTime();
                tf[i] = (b - a) / 1e6;
                tg[i] = (c - b) / 1e6;
                tp[i] = (d - c) / 1e6;
                cpuF += (cb - ca) / 1e6;
                cpuG += (cc - cb) / 1e6;
                cpuP += (cd - cc) / 1e6;
            }
            Arrays.sort(tp);
            Arrays.sort(tf);
            Arrays.sort(tg);
            System.out.printf("%s: batch %d, %d threads, %s: forward %.1f ms [%.1f-%.1f], gradient step %.1f ms"
                            + " [%.1f-%.1f]; ratio of medians %.2f, of minimums %.2f, of CPU time %.2f"
                            + " (%.1f / %.1f ms per run); build %.0f ms, %d nodes (forward %d)%n", name, labels.length,
                    options.intraOpThreads(), options.optimizationLevel(), tf[runs / 2], tf[runs / 4], tf[3 * runs / 4],
                    tg[runs / 2], tg[runs / 4], tg[3 * runs / 4], tg[runs / 2] / tf[runs / 2], tg[0] / tf[0],
                    cpuG / cpuF, cpuG / runs, cpuF / runs, buildMs, gm.model().graph().nodes().size(),
                    forward.graph().nodes().size());
            System.out.printf("  against the forward pass with the weights as inputs, as in the gradient model (no"
                    + " prepacked or NCHWc-reordered weights): %.1f ms, ratio of medians %.2f, of minimums %.2f, of CPU"
                    + " time %.2f%n", tp[runs / 2], tg[runs / 2] / tp[runs / 2], tg[0] / tp[0], cpuG / cpuP);
            System.out.println("  ops " + ops);
        }
    }

    private static Map<String, Tensor> randomFeeds(Model forward, int batch) {
        var in = forward.graph().inputs().get(0);
        var shape = ((dev.slimnx.graph.tensor.ValueType.TensorType) in.type()).shape();
        long[] dims = new long[shape.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = shape.dim(i).isKnown() ? shape.dim(i).value() : batch;
        }
        dims[0] = batch;
        float[] v = new float[Math.toIntExact(Tensor.elementCount(dims))];
        java.util.SplittableRandom r = new java.util.SplittableRandom(7);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Map.of(in.name(), Tensor.ofFloats(in.name(), dims, v));
    }

    private static long[] randomLabels(Model forward, int batch) {
        var out = forward.graph().outputs().get(0);
        var shape = ((dev.slimnx.graph.tensor.ValueType.TensorType) out.type()).shape();
        long classes = shape.dim(-1).value();
        java.util.SplittableRandom r = new java.util.SplittableRandom(8);
        long[] labels = new long[batch];
        for (int i = 0; i < batch; i++) {
            labels[i] = r.nextLong(classes);
        }
        return labels;
    }
}
