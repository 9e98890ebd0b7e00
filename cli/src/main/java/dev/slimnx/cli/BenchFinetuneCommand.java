package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.autodiff.NotDifferentiableException;
import dev.slimnx.passes.train.TrainerOptions;
import dev.slimnx.passes.train.TrainingData;
import dev.slimnx.passes.train.TrainingSession;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ExecutionProvider;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.OptimizationLevel;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import dev.slimnx.validate.data.ImagePreprocessing;
import java.io.PrintWriter;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx bench finetune}: the time of one training step (the gradient model's forward and
 * backward in ONNX Runtime, plus the weights fed in, the gradients read back, clipped and applied)
 * against one forward pass of the forward model, on the same real batch from the training subset,
 * interleaved so both see the same machine. Data loading is outside both timings; the step is
 * cross-entropy against the labels, without a teacher.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true,
        description = "Time of one training step vs one forward pass (Markdown).")
final class BenchFinetuneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--models", split = ",", defaultValue = "vit,efficientvit")
    List<String> models;

    @Option(names = "--batch", defaultValue = "64")
    int batch;

    @Option(names = "--threads", defaultValue = "2")
    int threads;

    @Option(names = "--repeat", defaultValue = "20", description = "timed step/forward pairs per model")
    int repeat;

    @Option(names = "--warmup", defaultValue = "3")
    int warmup;

    @Option(names = "--optimization", defaultValue = "all", paramLabel = "disabled|basic|extended|all",
            description = "ONNX Runtime graph optimization level of both sessions (default: ${DEFAULT-VALUE})")
    String optimization;

    @Override
    public Integer call() throws Exception {
        if (batch < 1 || threads < 0 || repeat < 1 || warmup < 0) {
            throw new UserError("--batch and --repeat must be >= 1, --threads and --warmup >= 0");
        }
        PrintWriter out = spec.commandLine().getOut();
        OptimizationLevel level;
        try {
            level = OptimizationLevel.valueOf(optimization.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserError("--optimization must be disabled, basic, extended or all, got '" + optimization + "'");
        }
        RunOptions options = new RunOptions(ExecutionProvider.CPU, threads, level);
        out.printf("ONNX Runtime %s, CPU, %d threads, optimization %s, batch %d; median of %d interleaved pairs"
                + " after %d warm-up%n%n", ModelRunner.ortVersion(), threads, optimization, batch, repeat, warmup);
        out.println("| model | forward ms | training step ms | step / forward |");
        out.println("| --- | ---: | ---: | ---: |");
        out.flush();
        ReferenceModels registry = ReferenceModels.locate();
        for (String name : models) {
            ReferenceModel ref = registry.find(name)
                    .orElseThrow(() -> new UserError("no reference model '" + name + "'"));
            out.println(row(registry, ref, options));
            out.flush();
        }
        return ExitCode.OK;
    }

    private String row(ReferenceModels registry, ReferenceModel ref, RunOptions options) throws Exception {
        Model m = OnnxReader.read(ref.file());
        ReferenceModel.Preprocessing p = ref.inputs().get(0).preprocessing();
        DataSpec data = DataSpec.images(registry.dataFile("calib_images"), "train",
                new ImagePreprocessing(p.scale(), p.mean(), p.std()));
        Batch b;
        try (Dataset d = Datasets.open(data, m, "train")) {
            b = d.next(batch);
        }
        Map<String, Tensor> feeds = new LinkedHashMap<>(b.inputs());
        feeds.put(TrainingData.LABELS, Tensor.ofLongs(TrainingData.LABELS, new long[] {b.size()},
                Arrays.stream(b.labels()).asLongStream().toArray()));
        TrainerOptions t = TrainerOptions.defaults().withRunOptions(options);
        double[] step = new double[repeat];
        double[] forward = new double[repeat];
        try (ModelRunner fwd = ModelRunner.open(m, options);
             TrainingSession session = TrainingSession.open(m, t, null, true)) {
            for (int i = 0; i < warmup; i++) {
                session.step(feeds, 1e-6);
                fwd.run(b.inputs());
            }
            for (int i = 0; i < repeat; i++) {
                long t0 = System.nanoTime();
                session.step(feeds, 1e-6);
                long t1 = System.nanoTime();
                fwd.run(b.inputs());
                long t2 = System.nanoTime();
                step[i] = (t1 - t0) / 1e6;
                forward[i] = (t2 - t1) / 1e6;
            }
        } catch (NotDifferentiableException e) {
            return "| " + ref.name() + " | | | n/a: no backward rule for " + e.missingOpTypes().keySet() + ", "
                    + e.refusedNodes().size() + " node(s) refused by their rule |";
        }
        double s = median(step);
        double f = median(forward);
        return String.format(Locale.ROOT, "| %s | %.1f | %.1f | %.2f× |", ref.name(), f, s, s / f);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
