package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassManager;
import dev.slimnx.passes.cleanup.CompactPass;
import dev.slimnx.passes.quant.CalibrationData;
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
import dev.slimnx.validate.latency.BatchLatency;
import dev.slimnx.validate.latency.LatencyBenchmark;
import dev.slimnx.validate.latency.LatencyOptions;
import dev.slimnx.validate.latency.LatencyResult;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx bench quantize}: each classification reference model in every mode with default
 * settings: top-1 on the full test set, size ratio, time to quantize, and CPU latency ratio
 * against float (ORT full optimization, interleaved). With {@code --model FILE} (the ViT-B/16-sized
 * scale model), latency and time to quantize only, calibrating on random inputs.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = "Accuracy, size, latency and time to quantize of every quantization mode (Markdown).")
final class BenchQuantizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "NAME", arity = "0..*", description = "reference models (default: the classifiers)")
    List<String> names = new ArrayList<>();

    @Option(names = "--model", paramLabel = "FILE", description = "a model with random weights: latency only")
    Path modelFile;

    @Option(names = "--modes", split = ",", defaultValue = "static,dynamic,fp16,int4")
    List<String> modes;

    @Option(names = "--threads", defaultValue = "2")
    int threads;

    @Option(names = "--seconds", defaultValue = "3")
    double seconds;

    @Option(names = "--batch", split = ",", defaultValue = "1,32")
    List<Integer> batches;

    @Option(names = "--calib-size", defaultValue = "512")
    int calibSize;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        out.printf("ONNX Runtime %s, CPU, %d threads, full optimization; latency p50 ms float → quantized (speedup),"
                + " %.0f s per pair and batch size%n%n", ModelRunner.ortVersion(), threads, seconds);
        StringBuilder header = new StringBuilder("| model | mode | top-1 float → quantized (drop, points) | size ratio"
                + " (vs compacted float) | time to quantize |");
        StringBuilder rule = new StringBuilder("| --- | --- | --- | ---: | ---: |");
        for (int b : batches) {
            header.append(" batch ").append(b).append(" |");
            rule.append(" --- |");
        }
        out.println(header);
        out.println(rule);
        out.flush();
        if (modelFile != null) {
            Model m = OnnxReader.read(modelFile);
            CalibrationData random = () -> java.util.stream.IntStream.range(0, Math.max(1, calibSize / 8))
                    .mapToObj(i -> BenchFeeds.random(m, 8)).iterator();
            for (String mode : modes) {
                out.println(row(modelFile.getFileName().toString(), m, Quantizers.Mode.parse(mode), random, null));
                out.flush();
            }
            return ExitCode.OK;
        }
        ReferenceModels registry = ReferenceModels.locate();
        List<ReferenceModel> models = names.isEmpty()
                ? registry.all().stream().filter(r -> r.task() == ReferenceModel.Task.CLASSIFICATION
                        || r.task() == ReferenceModel.Task.MULTITASK).toList()
                : names.stream().map(registry::get).toList();
        for (ReferenceModel ref : models) {
            Model m = OnnxReader.read(ref.file());
            ReferenceModel.Preprocessing p = ref.inputs().get(0).preprocessing();
            ImagePreprocessing prep = new ImagePreprocessing(p.scale(), p.mean(), p.std());
            CalibrationData calib = new DatasetCalibration(DataSpec.images(registry.dataFile("calib_images"), "train",
                    prep), m, calibSize, 32);
            QuantEvaluation eval = evaluation(m, DataSpec.images(registry.dataFile("test_images"), "test", prep));
            for (String mode : modes) {
                out.println(row(ref.name(), m, Quantizers.Mode.parse(mode), calib, eval));
                out.flush();
            }
        }
        return ExitCode.OK;
    }

    private QuantEvaluation evaluation(Model m, DataSpec spec) throws Exception {
        List<Batch> all = new ArrayList<>();
        try (Dataset d = Datasets.open(spec, m, "test")) {
            for (Batch b; (b = d.next(500)) != null; ) {
                all.add(b);
            }
        }
        return new QuantEvaluation(all, m.graph().outputs().getFirst().name(),
                new RunOptions(ExecutionProvider.CPU, threads, OptimizationLevel.ALL));
    }

    private String row(String name, Model m, Quantizers.Mode mode, CalibrationData calib, QuantEvaluation eval) {
        long t0 = System.nanoTime();
        Model quantized = OptimizeCommand.losslessCopy(m);
        Quantizers q = new Quantizers(mode, mode == Quantizers.Mode.STATIC ? calib : null, null, null, true, null, null,
                List.of(), 32, true, true);
        quantized = q.quantize(quantized, Set.of());
        double secs = (System.nanoTime() - t0) / 1e9;
        long bytes = OnnxWriter.toBytes(quantized).length;
        double ratio = (double) bytes / OnnxWriter.toBytes(m).length;
        // NOTE: the quantized file is compacted; against a float file compacted too, the
        // second ratio is what quantization alone saves.
        Model compactFloat = OptimizeCommand.losslessCopy(m);
        new PassManager(List.of(new CompactPass()), PassManager.Options.once()).run(compactFloat, PassContext.defaults());
        double compactRatio = (double) bytes / OnnxWriter.toBytes(compactFloat).length;
        String acc = "n/a (random weights)";
        if (eval != null) {
            double a = eval.top1(m);
            double b = eval.top1(quantized);
            acc = String.format(Locale.ROOT, "%.4f → %.4f (%+.2f)", a, b, 100 * (b - a));
        }
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "| %s | %s | %s | %.3f (%.3f) | %.1f s |", name,
                mode.name().toLowerCase(Locale.ROOT), acc, ratio, compactRatio, secs));
        LatencyResult r = new LatencyBenchmark(LatencyOptions.timed(10, Duration.ofMillis((long) (seconds * 1000)),
                batches.toArray(Integer[]::new))).compare(m, quantized,
                new RunOptions(ExecutionProvider.CPU, threads, OptimizationLevel.ALL), b -> BenchFeeds.random(m, b));
        for (int b : batches) {
            BatchLatency l = r.at(b);
            row.append(String.format(Locale.ROOT, " %.3f → %.3f (%.2f×) |", l.baseline().p50Ms(), l.candidate().p50Ms(),
                    l.comparison().p50Speedup()));
        }
        return row.toString();
    }
}
