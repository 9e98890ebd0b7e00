package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ExecutionProvider;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.OptimizationLevel;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.latency.BatchLatency;
import dev.slimnx.validate.latency.LatencyBenchmark;
import dev.slimnx.validate.latency.LatencyOptions;
import dev.slimnx.validate.latency.LatencyResult;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx bench optimize}: for each reference model, the node count before and after the
 * default lossless pipeline next to what ONNX Runtime's own offline basic optimization leaves, and
 * CPU latency of original vs optimized at ONNX Runtime's basic and full levels (each pair measured
 * interleaved), as a Markdown table for docs/BENCHMARKS.md.
 */
@Command(name = "optimize", mixinStandardHelpOptions = true,
        description = "Nodes and latency of each reference model before and after `slimnx optimize` (Markdown).")
final class BenchOptimizeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "NAME", arity = "0..*", description = "reference models (default: all)")
    List<String> names = new ArrayList<>();

    @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime intra-op threads (default 2)")
    int threads;

    @Option(names = "--seconds", defaultValue = "4", description = "timed seconds per model pair, level and batch size")
    double seconds;

    @Option(names = "--batch", split = ",", defaultValue = "1,32", description = "batch sizes (default 1,32)")
    List<Integer> batches;

    @Override
    public Integer call() throws Exception {
        ReferenceModels registry = ReferenceModels.locate();
        List<ReferenceModel> models = names.isEmpty() ? registry.all() : names.stream().map(registry::get).toList();
        PrintWriter out = spec.commandLine().getOut();
        out.printf("ONNX Runtime %s, CPU, %d intra-op threads, %.0f s timed per pair, level and batch size;"
                + " p50 ms original → optimized (speedup, verdict)%n%n", ModelRunner.ortVersion(), threads, seconds);
        StringBuilder header = new StringBuilder("| model | nodes | after slimnx | after ORT basic |");
        StringBuilder rule = new StringBuilder("| --- | ---: | ---: | ---: |");
        for (String level : List.of("basic", "full")) {
            for (int b : batches) {
                header.append(" ").append(level).append(", batch ").append(b).append(" |");
                rule.append(" --- |");
            }
        }
        out.println(header);
        out.println(rule);
        out.flush();
        for (ReferenceModel m : models) {
            out.println(row(m));
            out.flush();
        }
        return ExitCode.OK;
    }

    private String row(ReferenceModel ref) throws Exception {
        Model original = OnnxReader.read(ref.file());
        Model optimized = OptimizeCommand.losslessCopy(original);
        Path tmp = Files.createTempFile("slimnx-ort-basic-", ".onnx");
        int ortBasic;
        try {
            ModelRunner.writeOptimized(original, new RunOptions(ExecutionProvider.CPU, 1, OptimizationLevel.BASIC), tmp);
            ortBasic = OnnxReader.read(tmp).graph().nodes().size();
        } finally {
            Files.deleteIfExists(tmp);
        }
        StringBuilder row = new StringBuilder();
        row.append("| ").append(ref.name()).append(" | ").append(original.graph().nodes().size()).append(" | ")
                .append(optimized.graph().nodes().size()).append(" | ").append(ortBasic).append(" |");
        boolean batched = hasBatchAxis(original);
        List<Integer> sizes = batched ? batches : List.of(1);
        for (OptimizationLevel level : List.of(OptimizationLevel.BASIC, OptimizationLevel.ALL)) {
            LatencyBenchmark bench = new LatencyBenchmark(LatencyOptions.timed(20,
                    Duration.ofMillis((long) (seconds * 1000)), sizes.toArray(Integer[]::new)));
            LatencyResult r = bench.compare(original, optimized, new RunOptions(ExecutionProvider.CPU, threads, level),
                    b -> BenchFeeds.random(original, b));
            for (int b : batches) {
                if (!sizes.contains(b)) {
                    row.append(" n/a (one packed sequence) |");
                    continue;
                }
                BatchLatency l = r.at(b);
                row.append(String.format(" %.3f → %.3f (%.2f×, %s) |", l.baseline().p50Ms(), l.candidate().p50Ms(),
                        l.comparison().p50Speedup(), verdict(l)));
            }
        }
        return row.toString();
    }

    private static String verdict(BatchLatency l) {
        return switch (l.comparison().verdict()) {
            case FASTER -> "faster";
            case SLOWER -> "slower";
            case NO_SIGNIFICANT_CHANGE -> "same";
        };
    }

    private static boolean hasBatchAxis(Model m) {
        return m.graph().inputs().stream().anyMatch(v -> v.shape() != null && !v.shape().dims().isEmpty()
                && v.shape().dims().get(0).isSymbolic() && v.shape().dims().get(0).param().equals("batch"));
    }
}
