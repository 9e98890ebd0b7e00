package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ExecutionProvider;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.OptimizationLevel;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.AccuracyRun;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import dev.slimnx.validate.gate.Gate;
import dev.slimnx.validate.latency.BatchLatency;
import dev.slimnx.validate.latency.LatencyBenchmark;
import dev.slimnx.validate.latency.LatencyOptions;
import dev.slimnx.validate.latency.LatencyResult;
import dev.slimnx.validate.latency.LatencyStats;
import dev.slimnx.validate.report.MarkdownReport;
import dev.slimnx.validate.report.ModelFacts;
import dev.slimnx.validate.report.Reports;
import dev.slimnx.validate.report.ValidationReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
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
 * {@code slimnx validate BASELINE CANDIDATE}: runs both models on the same data through the same
 * runtime settings and reports accuracy, agreement, output error, latency, size, params and MACs;
 * gates turn the report into exit code 1 when the candidate is not good enough.
 */
@Command(name = "validate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Compare a candidate model with its baseline, with gates for CI.",
                "Measures accuracy, agreement, output error, latency, size, params and MACs. Gates"
                        + " (--gate 'top1_drop <= 0.5') make the exit code 1 when they fail."})
public final class ValidateCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "BASELINE", description = "the model to compare against, e.g. the original before compression")
    Path baselineFile;

    @Parameters(index = "1", paramLabel = "CANDIDATE", description = "the model to judge")
    Path candidateFile;

    @Option(names = "--data", paramLabel = "DATA",
            description = "IDX file or folder, image folder, .npy/.npz; omitted: synthetic inputs from the model's signature")
    Path dataPath;

    @Mixin
    DataOptions data;

    @Option(names = "--task", defaultValue = "auto", paramLabel = "auto|classification|outputs",
            description = "what to judge: classification (accuracy and agreement on a [batch, classes] output),"
                    + " outputs (output error only), or auto: classification when such an output exists (default)")
    String task;

    @Option(names = "--output", paramLabel = "NAME", description = "the output to judge as class logits (default: the first [batch, classes] output)")
    String logitsOutput;

    @Option(names = "--ep", defaultValue = "cpu", paramLabel = "cpu|cuda", description = "execution provider (default: ${DEFAULT-VALUE})")
    String ep;

    @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "intra-op threads for both models (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--optimization", defaultValue = "all", paramLabel = "disabled|basic|extended|all",
            description = "ONNX Runtime graph optimization level (default: ${DEFAULT-VALUE})")
    String optimization;

    @Option(names = "--eval-batch", defaultValue = "32", paramLabel = "N", description = "items per run for accuracy (default: ${DEFAULT-VALUE})")
    int evalBatch;

    @Option(names = "--batch", split = ",", paramLabel = "N[,N...]", hideParamSyntax = true, defaultValue = "1",
            description = "batch sizes of the latency measurement (default: ${DEFAULT-VALUE})")
    List<Integer> latencyBatches;

    @Option(names = "--warmup", defaultValue = "10", paramLabel = "N", description = "latency warm-up runs per model and batch size (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--iterations", paramLabel = "N", description = "timed latency runs per model and batch size (default: 50)")
    Integer iterations;

    @Option(names = "--time", paramLabel = "SECONDS", description = "time budget of the latency runs per batch size, instead of --iterations")
    Double time;

    @Option(names = "--no-latency", description = "skip the latency measurement")
    boolean noLatency;

    @Option(names = "--report", paramLabel = "FILE", description = "write the report (.json, .md, .html or .xml for JUnit); repeatable")
    List<Path> reports = new ArrayList<>();

    @Option(names = "--gate", paramLabel = "EXPR", description = "a condition that must hold, e.g. 'top1_drop <= 0.5'; repeatable")
    List<String> gates = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        List<Gate> parsedGates = parsedGates();
        checkOptions();
        for (Path r : reports) {
            Path parent = r.toAbsolutePath().getParent();
            if (!Files.isDirectory(parent)) {
                throw new UserError(r + ": folder " + parent + " does not exist");
            }
        }
        return judge(parsedGates, runOptions());
    }

    private List<Gate> parsedGates() {
        List<Gate> parsed = new ArrayList<>();
        for (String g : gates) {
            try {
                parsed.add(Gate.parse(g));
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
        }
        return parsed;
    }

    @Override
    public void checkOptions() {
        parsedGates();
        for (Path r : reports) {
            if (Reports.formatOf(r) == null) {
                throw new UserError(r + ": unknown report format; use .json, .md, .html or .xml (JUnit)");
            }
        }
        if (iterations != null && time != null) {
            throw new UserError("give --iterations or --time, not both");
        }
        if (evalBatch < 1 || threads < 0 || warmup < 0 || latencyBatches.stream().anyMatch(b -> b < 1)) {
            throw new UserError("--eval-batch and --batch must be >= 1, --threads and --warmup >= 0");
        }
        if (!List.of("auto", "classification", "outputs").contains(task)) {
            throw new UserError("--task must be auto, classification or outputs, got '" + task + "'"
                    + (List.of("multitask", "packed", "detection").contains(task)
                    ? " (the reference models' multitask, packed and detection tasks are chosen from the manifest"
                    + " when the baseline is that reference model and --data is not given)" : ""));
        }
        if (task.equals("outputs") && logitsOutput != null) {
            throw new UserError("--output names a logits output, which --task outputs does not judge");
        }
    }

    private Integer judge(List<Gate> parsedGates, RunOptions runOptions) throws Exception {
        Model baseline = OnnxReader.read(baselineFile);
        Model candidate = OnnxReader.read(candidateFile);
        java.util.Optional<ReferenceModel> reference = dataPath == null ? referenceBaseline() : java.util.Optional.empty();
        DataSpec dataSpec = reference.map(m -> {
            DataSpec d = referenceData(m);
            return data.toSpec(d.source(), d);
        }).orElseGet(() -> data.toSpec(dataPath));
        Map<String, int[]> heads = reference.filter(m -> m.task() == ReferenceModel.Task.MULTITASK && logitsOutput == null)
                .map(ValidateCommand::heads).orElse(null);
        ProgressBar bar = ProgressBar.forTerminal(spec.commandLine().getErr());

        ReferenceModel.Task special = reference.map(ReferenceModel::task)
                .filter(t -> t == ReferenceModel.Task.PACKED || t == ReferenceModel.Task.DETECTION).orElse(null);
        AccuracyRun.Result accuracy;
        try (ModelRunner a = ModelRunner.open(baseline, runOptions);
             ModelRunner b = ModelRunner.open(candidate, runOptions);
             Dataset ds = special != null ? null : Datasets.open(dataSpec, baseline, "test")) {
            try {
                accuracy = special != null ? referenceTaskRun(special, a, b, dataSpec, bar)
                        : heads != null && !task.equals("outputs")
                        ? AccuracyRun.runHeads(a, b, ds, evalBatch, heads, bar::update)
                        : AccuracyRun.run(a, b, ds, evalBatch, task.equals("outputs") ? AccuracyRun.NO_LOGITS
                        : logitsOutput, bar::update);
                if (task.equals("classification") && accuracy.accuracy() == null) {
                    throw new UserError("--task classification needs an output of shape [batch, classes];"
                            + " name it with --output, or use --task outputs");
                }
            } catch (IllegalArgumentException e) {
                throw new UserError(e.getMessage());
            }
            bar.done();
            if (special != null && !noLatency) {
                throw new UserError("latency of the " + special.name().toLowerCase(Locale.ROOT)
                        + " reference task needs its own inputs; add --no-latency, or give --data with inputs for it");
            }
            List<ValidationReport.LatencyFacts> latency = noLatency ? List.of() : latency(a, b, baseline, dataSpec, bar);
            ValidationReport report = new ValidationReport(ValidationReport.SCHEMA,
                    Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(),
                    ModelFacts.of(baseline, baselineFile), ModelFacts.of(candidate, candidateFile),
                    new ValidationReport.RuntimeFacts(runOptions.provider().name().toLowerCase(Locale.ROOT),
                            runOptions.intraOpThreads(), runOptions.optimizationLevel().name().toLowerCase(Locale.ROOT),
                            ModelRunner.ortVersion()),
                    new ValidationReport.DataFacts(dataSpec.source() == null ? "synthetic" : dataSpec.source().toString(),
                            accuracy.items(), accuracy.labelled()),
                    accuracy.accuracy(), accuracy.heads(), accuracy.detection(), accuracy.outputs(), latency, List.of(), true);
            List<Gate.Result> results = new ArrayList<>();
            for (Gate g : parsedGates) {
                try {
                    results.add(g.evaluate(report.gateFields()));
                } catch (IllegalArgumentException e) {
                    throw new UserError(e.getMessage());
                }
            }
            report = report.withGates(results);
            for (Path r : reports) {
                Reports.write(report, r);
            }
            PrintWriter out = spec.commandLine().getOut();
            out.print(MarkdownReport.render(report));
            for (Path r : reports) {
                out.println("report: " + r);
            }
            return report.passed() ? ExitCode.OK : ExitCode.GATE_FAILED;
        }
    }

    /** The reference model the baseline file is, by SHA-256, if any. */
    private java.util.Optional<ReferenceModel> referenceBaseline() throws IOException {
        ReferenceModels registry;
        try {
            registry = ReferenceModels.locate();
        } catch (IOException e) {
            return java.util.Optional.empty();
        }
        var match = registry.identify(baselineFile);
        referenceRegistry = registry;
        return match;
    }

    private ReferenceModels referenceRegistry;

    /**
     * A reference model's committed test set with the manifest's preprocessing (the user's data
     * options still override each value).
     */
    private DataSpec referenceData(ReferenceModel m) {
        ReferenceModel.Preprocessing p = m.inputs().get(0).preprocessing();
        return DataSpec.images(referenceRegistry.dataFile("test_images"), "test",
                new dev.slimnx.validate.data.ImagePreprocessing(p.scale(), p.mean(), p.std()));
    }

    /** NaViT's packed stream or DETR's canvases, built from the reference test images. */
    private AccuracyRun.Result referenceTaskRun(ReferenceModel.Task t, ModelRunner a, ModelRunner b, DataSpec spec,
                                                ProgressBar bar) throws IOException {
        var idx = dev.slimnx.validate.data.IdxSource.locate(spec.source(), spec.split(), "test");
        var images = dev.slimnx.validate.data.LabelledImages.read(idx.images(), idx.labels());
        return t == ReferenceModel.Task.PACKED
                ? dev.slimnx.validate.ReferenceTaskRun.packed(a, b, images, spec.preprocessing(), spec.limit(), bar::update)
                : dev.slimnx.validate.ReferenceTaskRun.detection(a, b, images, spec.preprocessing(), 10, spec.limit(), bar::update);
    }

    /** Each output of a multi-task reference model is a head with its own labelling. */
    private static Map<String, int[]> heads(ReferenceModel m) {
        Map<String, int[]> heads = new java.util.LinkedHashMap<>();
        for (ReferenceModel.OutputSpec o : m.outputs()) {
            heads.put(o.name(), m.labelMaps().get(o.name()));
        }
        return heads;
    }

    private RunOptions runOptions() {
        ExecutionProvider provider;
        OptimizationLevel level;
        try {
            provider = ExecutionProvider.fromName(ep);
            level = OptimizationLevel.valueOf(optimization.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new UserError("--ep must be cpu or cuda and --optimization one of disabled, basic, extended, all ("
                    + e.getMessage() + ")");
        }
        if (!provider.isAvailable()) {
            throw new UserError("--ep " + ep + " is not available: " + provider.unavailableReason());
        }
        return new RunOptions(provider, threads, level);
    }

    /** Latency on real inputs: the first batch of the data, tiled or cut to each batch size. */
    private List<ValidationReport.LatencyFacts> latency(ModelRunner a, ModelRunner b, Model baseline, DataSpec dataSpec,
                                                        ProgressBar bar) throws IOException {
        Map<Integer, Map<String, Tensor>> feeds = new HashMap<>();
        for (int size : latencyBatches) {
            try (Dataset ds = Datasets.open(dataSpec, baseline, "test")) {
                feeds.put(size, batchOf(ds, size));
            }
        }
        LatencyOptions options = time != null
                ? LatencyOptions.timed(warmup, Duration.ofMillis(Math.round(time * 1000)), latencyBatches.toArray(Integer[]::new))
                : LatencyOptions.iterations(warmup, iterations == null ? 50 : iterations, latencyBatches.toArray(Integer[]::new));
        bar.update(0, -1, "latency");
        LatencyResult result = new LatencyBenchmark(options).compare(a, b, feeds::get);
        bar.done();
        List<ValidationReport.LatencyFacts> out = new ArrayList<>();
        for (BatchLatency l : result.batches()) {
            var c = l.comparison();
            out.add(new ValidationReport.LatencyFacts(l.batchSize(), timing(l.baseline()), timing(l.candidate()),
                    c.p50Speedup(), new double[] {c.p50SpeedupLow(), c.p50SpeedupHigh()},
                    l.candidate().throughput() / l.baseline().throughput(),
                    c.verdict().name().toLowerCase(Locale.ROOT).replace('_', ' '), c.pValue()));
        }
        return out;
    }

    private static ValidationReport.Timing timing(LatencyStats s) {
        return new ValidationReport.Timing(s.count(), s.meanMs(), s.p50Ms(), s.p90Ms(), s.p99Ms(), s.throughput(),
                s.sortedMillis());
    }

    /** Exactly {@code size} items: a batch of the data, its rows repeated when the data has fewer. */
    static Map<String, Tensor> batchOf(Dataset ds, int size) throws IOException {
        Batch first = ds.next(size);
        if (first == null) {
            throw new UserError("the data has no items to measure latency on");
        }
        Map<String, Tensor> out = new HashMap<>();
        for (var e : first.inputs().entrySet()) {
            Tensor t = e.getValue();
            long[] dims = t.dims();
            int rows = (int) dims[0];
            if (rows == size) {
                out.put(e.getKey(), t);
                continue;
            }
            java.nio.ByteBuffer src = t.rawBytes();
            int rowBytes = src.remaining() / rows;
            java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocate(rowBytes * size).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < size; i++) {
                java.nio.ByteBuffer row = src.duplicate();
                row.position((i % rows) * rowBytes).limit((i % rows + 1) * rowBytes);
                dst.put(row);
            }
            dims[0] = size;
            out.put(e.getKey(), Tensor.ofRaw(e.getKey(), t.dataType(), dims, dst.flip()));
        }
        return out;
    }
}
