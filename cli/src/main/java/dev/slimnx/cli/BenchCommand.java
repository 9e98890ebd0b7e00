package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.AccuracyRun;
import dev.slimnx.validate.Progress;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code slimnx bench validate-overhead}: what the validator's accuracy pass costs on top of ONNX
 * Runtime. Three ways to push the same data through the same model pair, interleaved per repeat:
 * the validator ({@link AccuracyRun}: data read and preprocessed batch by batch, both models run,
 * metrics accumulated); a loop that reads the same batches and runs both models without metrics;
 * and a bare loop over batches preloaded in memory (ONNX Runtime's work and nothing else).
 */
@Command(name = "bench", hidden = true, mixinStandardHelpOptions = true,
        description = "Benchmarks that write their figures for docs/BENCHMARKS.md.",
        subcommands = {BenchCommand.ValidateOverhead.class, BenchOptimizeCommand.class, BenchQuantizeCommand.class,
                BenchFinetuneCommand.class, BenchPruneCommand.class})
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The validator's overhead over a bare ONNX Runtime loop. */
    @Command(name = "validate-overhead", mixinStandardHelpOptions = true,
            description = "Images per second of the validator vs a bare ONNX Runtime loop on the same model and data.")
    static final class ValidateOverhead implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Parameters(paramLabel = "MODEL")
        Path model;

        @Option(names = "--data", required = true)
        Path dataPath;

        @Mixin
        DataOptions data;

        @Option(names = "--batch", defaultValue = "250")
        int batch;

        @Option(names = "--threads", defaultValue = "2")
        int threads;

        @Option(names = "--repeat", defaultValue = "3")
        int repeat;

        @Override
        public Integer call() throws Exception {
            Model m = OnnxReader.read(model);
            DataSpec ds = data.toSpec(dataPath);
            RunOptions options = RunOptions.defaults().withIntraOpThreads(threads);
            PrintWriter out = spec.commandLine().getOut();
            List<Batch> preloaded = new ArrayList<>();
            try (Dataset d = Datasets.open(ds, m, "test")) {
                for (Batch b; (b = d.next(batch)) != null; ) {
                    preloaded.add(b);
                }
            }
            long items = preloaded.stream().mapToLong(Batch::size).sum();
            out.printf("model %s, %d items, batch %d, %d threads, %s%n", model, items, batch, threads,
                    java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
            double[][] seconds = new double[3][repeat];
            try (ModelRunner a = ModelRunner.open(m, options); ModelRunner b = ModelRunner.open(m, options)) {
                bare(a, b, preloaded.subList(0, Math.min(2, preloaded.size()))); // warm-up
                for (int r = 0; r < repeat; r++) {
                    long t0 = System.nanoTime();
                    try (Dataset d = Datasets.open(ds, m, "test")) {
                        AccuracyRun.run(a, b, d, batch, null, Progress.NONE);
                    }
                    long t1 = System.nanoTime();
                    try (Dataset d = Datasets.open(ds, m, "test")) {
                        for (Batch x; (x = d.next(batch)) != null; ) {
                            a.run(x.inputs());
                            b.run(x.inputs());
                        }
                    }
                    long t2 = System.nanoTime();
                    bare(a, b, preloaded);
                    long t3 = System.nanoTime();
                    seconds[0][r] = (t1 - t0) / 1e9;
                    seconds[1][r] = (t2 - t1) / 1e9;
                    seconds[2][r] = (t3 - t2) / 1e9;
                }
            }
            String[] names = {"validator (AccuracyRun)", "read + run, no metrics", "bare ORT loop, preloaded"};
            double bareMedian = median(seconds[2]);
            out.printf("%-26s %10s %14s %10s%n", "", "median s", "images/s", "vs bare");
            for (int k = 0; k < 3; k++) {
                double med = median(seconds[k]);
                out.printf(Locale.ROOT, "%-26s %10.2f %14.0f %+9.1f%%   runs %s%n", names[k], med, items / med,
                        100 * (med / bareMedian - 1), Arrays.toString(seconds[k]));
            }
            out.println("(images/s counts each image once; both the baseline and the candidate ran on it)");
            return ExitCode.OK;
        }

        private static void bare(ModelRunner a, ModelRunner b, List<Batch> batches) {
            for (Batch x : batches) {
                Map<String, Tensor> in = x.inputs();
                a.run(in);
                b.run(in);
            }
        }

        private static double median(double[] v) {
            double[] s = v.clone();
            Arrays.sort(s);
            return s[s.length / 2];
        }
    }
}
