package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.io.ExternalDataPolicy;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassManager;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.quant.CalibrationData;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ExecutionProvider;
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
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx quantize}: INT8 (static QDQ with calibration, or dynamic), FP16 or INT4
 * weight-only. Optionally ranks the nodes by how much quantizing each alone hurts
 * ({@code --report-sensitivity}) and keeps the most sensitive ones in float until a top-1 budget
 * holds ({@code --max-drop}). A short latency probe afterwards says plainly when the result is
 * slower than the input.
 */
@Command(name = "quantize", mixinStandardHelpOptions = true,
        description = {"Quantize a model: static or dynamic INT8, FP16, or INT4 weight-only.",
                "For a reference model, --calib defaults to its calibration subset and --data to its test set."})
public final class QuantizeCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "the float ONNX model")
    Path input;

    @Option(names = {"-o", "--output"}, paramLabel = "OUT", description = "where to write the quantized model")
    Path output;

    @Option(names = "--mode", required = true, paramLabel = "static|dynamic|fp16|int4",
            description = "static: QDQ INT8 with calibrated activations; dynamic: INT8 weights, activations at run time;"
                    + " fp16: half precision; int4: 4-bit weight-only MatMul blocks")
    String mode;

    @Option(names = "--calib", paramLabel = "DATA", description = "static: data to calibrate on (same forms as validate --data)")
    Path calibPath;

    @Option(names = "--calib-size", paramLabel = "N", defaultValue = "512",
            description = "static: calibration items (default: ${DEFAULT-VALUE})")
    int calibSize;

    @Option(names = "--method", paramLabel = "minmax|percentile|entropy", description = "static: calibration method")
    String method;

    @Option(names = "--percentile", paramLabel = "P", description = "static, --method percentile: the percentile kept")
    Double percentile;

    @Option(names = "--per-channel", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "INT8 weights per output channel (default) or, with --no-per-channel, per tensor")
    boolean perChannel;

    @Option(names = "--per-tensor", description = "same as --no-per-channel")
    boolean perTensor;

    @Option(names = "--activation-type", paramLabel = "uint8|int8", description = "static: activation type")
    String activationType;

    @Option(names = "--ops", split = ",", paramLabel = "OP[,OP...]", hideParamSyntax = true, description = "op types to quantize")
    List<String> ops;

    @Option(names = "--exclude", split = ",", paramLabel = "NODE|OP[,...]", hideParamSyntax = true, description = "nodes or op types kept in float")
    List<String> exclude = new ArrayList<>();

    @Option(names = "--block-size", paramLabel = "32|64|128", defaultValue = "32",
            description = "int4: weights per quantization block (default: ${DEFAULT-VALUE})")
    int blockSize;

    @Option(names = "--keep-io-types", paramLabel = "true|false", defaultValue = "true", arity = "1",
            description = "fp16: keep float32 graph inputs and outputs (default: ${DEFAULT-VALUE})")
    boolean keepIoTypes;

    @Option(names = "--no-compact", negatable = false, description = "write names and attributes as they come; by default"
            + " the output is compacted (short value names, node names without repeated module paths, no default-valued"
            + " attributes: the same model in fewer bytes)")
    boolean noCompact;

    @Option(names = "--max-drop", paramLabel = "POINTS",
            description = "keep the most sensitive nodes in float until the top-1 drop on --data is at most POINTS")
    Double maxDrop;

    @Option(names = "--data", paramLabel = "DATA", description = "labelled data for --max-drop and --report-sensitivity")
    Path dataPath;

    @Option(names = "--report-sensitivity", description = "print how much quantizing each node alone changes the output")
    boolean reportSensitivity;

    @Option(names = "--no-latency-probe", negatable = false, description = "skip the latency comparison after quantizing")
    boolean noLatencyProbe;

    @Option(names = "--no-optimize", negatable = false,
            description = "skip the lossless passes (slimnx optimize's default pipeline) run before quantizing")
    boolean noOptimize;

    @Option(names = "--derived-from", paramLabel = "MODEL",
            description = "the model MODEL was made from: when that is a reference model, its data defaults apply"
                    + " (a recipe passes its input model)")
    Path derivedFrom;

    @Option(names = "--force", description = "allow OUT to be the input file itself")
    boolean force;

    @Mixin
    DataOptions data;

    private ReferenceModels registry;

    @Override
    public Integer call() throws Exception {
        Quantizers.Mode m = Quantizers.Mode.parse(mode);
        checkOptions(m);
        if (output != null) {
            OutputFiles.check(input, output, force);
        }
        Model original = OnnxReader.read(input);
        // NOTE: the lossless pipeline first: folded constants and removed shape chains leave fewer,
        // plainer nodes to quantize, and their names are a real share of a small model's file.
        Model model = noOptimize ? original : OptimizeCommand.losslessCopy(original);
        Optional<ReferenceModel> reference = reference();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        CalibrationData calib = m == Quantizers.Mode.STATIC ? calibration(model, reference) : null;
        Quantizers quantizers = new Quantizers(m, calib, method, percentile, perChannel && !perTensor,
                activationType, ops, exclude, blockSize, keepIoTypes, !noCompact);
        try {
            quantizers.create(Set.of()).requires(model);
        } catch (PassRefusedException e) {
            throw new UserError(input + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        QuantEvaluation evaluation = reportSensitivity || maxDrop != null ? evaluation(model, reference) : null;
        QuantizationSearch search = new QuantizationSearch(model, quantizers::quantize,
                evaluation, line -> {
                    err.println("  " + line);
                    err.flush();
                });
        long t0 = System.nanoTime();
        Model result;
        List<String> keptFloat = List.of();
        List<QuantizationSearch.Sensitivity> ranking = null;
        java.util.function.Supplier<List<QuantizationSearch.Sensitivity>> rank = () -> {
            Map<String, String> candidates = quantizers.candidates(model);
            err.printf("sensitivity of %d node(s) on %d items%n", candidates.size(), evaluation.items());
            return search.sensitivity(candidates);
        };
        if (reportSensitivity) {
            ranking = rank.get();
            printRanking(out, ranking);
        }
        if (maxDrop != null) {
            List<QuantizationSearch.Sensitivity> known = ranking;
            QuantizationSearch.Outcome o = search.meetDrop(known != null ? () -> known : rank, maxDrop);
            if (o == null) {
                err.printf("%s: no setting meets --max-drop %.2f: even with all %d ranked node(s) in float the drop"
                        + " exceeds the budget; %s was not written%n", spec.qualifiedName(), maxDrop,
                        quantizers.candidates(model).size(),
                        output == null ? "nothing" : output);
                return ExitCode.GATE_FAILED;
            }
            result = o.model();
            keptFloat = o.keptFloat();
            out.printf(Locale.ROOT, "top-1: float %.4f, quantized %.4f (drop %.2f points, budget %.2f) after %d variant(s)%n",
                    o.floatTop1(), o.top1(), o.dropPoints(), maxDrop, o.variants());
            out.println("kept in float: " + (keptFloat.isEmpty() ? "none" : String.join(", ", keptFloat)));
        } else if (output != null) {
            result = quantizers.quantize(model, Set.of());
        } else {
            return ExitCode.OK;
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        printSummary(out, original, result, seconds);
        if (!noLatencyProbe) {
            latencyProbe(out, original, result, m);
        }
        if (output != null) {
            OnnxWriter.Result written = OnnxWriter.write(result, output, ExternalDataPolicy.keep());
            out.printf("wrote %s (%s)%n", written.model(), Format.bytes(written.modelBytes()));
        }
        return ExitCode.OK;
    }

    @Override
    public void checkOptions() {
        checkOptions(Quantizers.Mode.parse(mode));
    }

    private void checkOptions(Quantizers.Mode m) {
        if (output == null && !reportSensitivity) {
            throw new UserError("give -o OUT (or --report-sensitivity alone)");
        }
        if (calibPath != null && m != Quantizers.Mode.STATIC) {
            throw new UserError("--calib only applies to --mode static");
        }
        if (calibSize < 1) {
            throw new UserError("--calib-size must be at least 1, got " + calibSize);
        }
        if (maxDrop != null && !(maxDrop >= 0)) {
            throw new UserError("--max-drop must be a number of points >= 0, got " + maxDrop);
        }
        if (m == Quantizers.Mode.FP16 && (maxDrop != null || reportSensitivity)) {
            throw new UserError("--max-drop and --report-sensitivity apply to the INT8 and INT4 modes");
        }
    }

    private Optional<ReferenceModel> reference() throws IOException {
        registry = Recovery.registryOrNull();
        return Recovery.identify(registry, input, derivedFrom);
    }

    private DataSpec referenceImages(ReferenceModel m, String key, String split) {
        ReferenceModel.Preprocessing p = m.inputs().get(0).preprocessing();
        return DataSpec.images(registry.dataFile(key), split, new ImagePreprocessing(p.scale(), p.mean(), p.std()));
    }

    private CalibrationData calibration(Model model, Optional<ReferenceModel> reference) throws IOException {
        DataSpec spec;
        if (calibPath != null) {
            spec = data.toSpec(calibPath, DataOptions.defaults(calibPath));
        } else if (reference.isPresent() && reference.get().task() != ReferenceModel.Task.PACKED
                && reference.get().task() != ReferenceModel.Task.DETECTION) {
            DataSpec d = referenceImages(reference.get(), "calib_images", "train");
            spec = data.toSpec(d.source(), d);
        } else {
            throw new UserError("--mode static needs --calib DATA (a reference model brings its own calibration set,"
                    + " this model is not one)");
        }
        return new DatasetCalibration(spec, model, calibSize, 32).check();
    }

    private QuantEvaluation evaluation(Model model, Optional<ReferenceModel> reference) throws IOException {
        DataSpec spec;
        if (dataPath != null) {
            spec = data.toSpec(dataPath);
        } else if (reference.isPresent() && reference.get().task() == ReferenceModel.Task.CLASSIFICATION
                || reference.isPresent() && reference.get().task() == ReferenceModel.Task.MULTITASK) {
            DataSpec d = referenceImages(reference.get(), "test_images", "test");
            spec = data.toSpec(d.source(), d);
        } else {
            throw new UserError("--max-drop and --report-sensitivity need --data DATA with labels");
        }
        List<Batch> batches = new ArrayList<>();
        try (Dataset d = Datasets.open(spec, model, "test")) {
            for (Batch b; (b = d.next(250)) != null; ) {
                batches.add(b);
            }
        }
        String logits = model.graph().outputs().getFirst().name();
        QuantEvaluation e = new QuantEvaluation(batches, logits, RunOptions.defaults().withIntraOpThreads(0));
        if (maxDrop != null && !e.labelled()) {
            throw new UserError((spec.source() == null ? "synthetic data" : spec.source()) + ": --max-drop needs labels");
        }
        return e;
    }

    private static void printRanking(PrintWriter out, List<QuantizationSearch.Sensitivity> ranking) {
        out.println("sensitivity (most sensitive first): node, op, output SQNR with only this node quantized, top-1");
        for (QuantizationSearch.Sensitivity s : ranking) {
            out.printf(Locale.ROOT, "  %-48s %-8s %7.1f dB  %s%n", s.node(), s.opType(), s.sqnrDb(),
                    Double.isNaN(s.top1()) ? "" : String.format(Locale.ROOT, "%.4f", s.top1()));
        }
    }

    private static void printSummary(PrintWriter out, Model before, Model after, double seconds) {
        ModelStats a = ModelStats.of(before);
        ModelStats b = ModelStats.of(after);
        long bytesBefore = OnnxWriter.toBytes(before).length;
        long bytesAfter = OnnxWriter.toBytes(after).length;
        out.printf(Locale.ROOT, "size %s -> %s (%.2fx), nodes %d -> %d, quantized in %.1f s%n", Format.bytes(bytesBefore),
                Format.bytes(bytesAfter), (double) bytesAfter / bytesBefore, a.nodeCount(), b.nodeCount(), seconds);
        Map<String, Integer> ops = new LinkedHashMap<>(b.opHistogram());
        ops.keySet().retainAll(Set.of("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
                "com.microsoft:DynamicQuantizeMatMul", "com.microsoft:MatMulNBits", "Cast"));
        if (!ops.isEmpty()) {
            out.println("quantization nodes: " + ops);
        }
    }

    /** A few seconds of interleaved batch-1 latency, ORT full optimization: is the result faster at all? */
    private void latencyProbe(PrintWriter out, Model before, Model after, Quantizers.Mode m) {
        try {
            LatencyBenchmark bench = new LatencyBenchmark(LatencyOptions.timed(10, Duration.ofSeconds(2), 1));
            BatchLatency l = bench.compare(before, after, new RunOptions(ExecutionProvider.CPU, 0, OptimizationLevel.ALL),
                    b -> BenchFeeds.random(before, b)).at(1);
            out.printf(Locale.ROOT, "latency probe (batch 1, CPU): %.3f ms -> %.3f ms p50 (%.2fx)%n", l.baseline().p50Ms(),
                    l.candidate().p50Ms(), l.comparison().p50Speedup());
            if (l.comparison().verdict() == dev.slimnx.validate.latency.LatencyComparison.Verdict.SLOWER) {
                out.printf("warning: the quantized model is SLOWER than the input on this CPU; try %s%n",
                        m == Quantizers.Mode.DYNAMIC ? "--mode static" : "--mode dynamic");
            }
        } catch (RuntimeException e) {
            out.println("latency probe skipped: " + e.getMessage());
        }
    }
}
