package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.AtomicFiles;
import dev.slimnx.graph.io.ExternalDataPolicy;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.prune.ConvChannelsPass;
import dev.slimnx.passes.prune.FfnRatioPass;
import dev.slimnx.passes.prune.HeadPass;
import dev.slimnx.passes.prune.ImportanceData;
import dev.slimnx.passes.prune.PruneReport;
import dev.slimnx.passes.prune.QkDimPass;
import dev.slimnx.passes.prune.ReallocatePass;
import dev.slimnx.passes.prune.ScoreNormalization;
import dev.slimnx.passes.train.Distillation;
import dev.slimnx.passes.train.TrainerOptions;
import dev.slimnx.passes.train.TrainingData;
import dev.slimnx.passes.train.TrainingResult;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.report.Reports;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx prune}: structured pruning after the lossless pipeline: FFN hidden layers to a
 * ratio ({@code prune-ffn}), the per-head Q/K dimension ({@code prune-qk}), whole heads
 * ({@code prune-heads}) and conv channels ({@code prune-channels}), in that order, each ranked by
 * one importance criterion. Prints every group's width before → after and the model's params and
 * MACs before → after; {@code --report FILE} writes the same as JSON (schema
 * {@code slimnx.prune/1}). With {@code --finetune-steps N}, a recovery fine-tune follows
 * ({@link Recovery}: distillation from the model before pruning). Nothing is written unless every
 * pass, and the fine-tune, ran.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = {"Prune a model structurally: FFN ratio, per-head Q/K dimension, heads, conv channels.",
                "For a reference model, --calib defaults to its calibration subset (Taylor importance).",
                "--finetune-steps N: then a recovery fine-tune, distilling from the model before pruning;",
                "--data defaults to a reference classifier's training subset; the data options apply to --calib and --data."})
public final class PruneCommand implements Callable<Integer>, CheckedOptions {
    /** The JSON report's schema name. */
    static final String SCHEMA = "slimnx.prune/1";

    /** Taylor calibration items read from --calib DATA unless --calib-size says. */
    static final int DEFAULT_CALIB_SIZE = 256;

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "the float ONNX model")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "where to write the pruned model")
    Path output;

    @Option(names = "--ffn-ratio", paramLabel = "R", description = "prune every FFN hidden layer to R x its input width")
    Double ffnRatio;

    @Option(names = "--qk-dim", paramLabel = "D", description = "shrink every attention's per-head Q/K dimension to D")
    Integer qkDim;

    @Option(names = "--heads", paramLabel = "H", description = "keep H heads in every attention")
    Integer heads;

    @Option(names = "--channels", paramLabel = "F", description = "remove the fraction F of every conv channel group")
    Double channels;

    @Option(names = "--target-params", paramLabel = "F",
            description = "keep the fraction F of the params: every group loses the same fraction, or with "
                    + "--reallocate the globally least important units go")
    Double targetParams;

    @Option(names = "--target-macs", paramLabel = "F", description = "as --target-params, for MACs at batch 1")
    Double targetMacs;

    @Option(names = "--reallocate", description = "with a target: one global ranking over FFN units, Q/K dims and "
            + "conv channels decides the widths (V is never pruned)")
    boolean reallocate;

    @Option(names = "--embed-dim", description = "with a target: the embedding (residual-stream) width is pruned too; "
            + "it couples every block")
    boolean embedDim;

    @Option(names = "--min-width", paramLabel = "F", defaultValue = "0.125",
            description = "with a target: every group keeps at least the fraction F of its width (default: "
                    + "${DEFAULT-VALUE})")
    double minWidth;

    @Option(names = "--score-normalization", paramLabel = "none|max|sum", defaultValue = "none",
            description = "with --reallocate: how each group's scores are scaled before the global ranking "
                    + "(default: ${DEFAULT-VALUE}: Taylor scores are loss estimates, comparable across layers)")
    String scoreNormalization;

    @Option(names = "--importance", paramLabel = "taylor|magnitude|random", defaultValue = "taylor",
            description = "how channels are ranked (default: ${DEFAULT-VALUE}; taylor needs calibration data)")
    String importance;

    @Option(names = "--calib", paramLabel = "DATA", description = "Taylor: labelled (or unlabelled) data to score on")
    Path calibPath;

    @Option(names = "--calib-size", paramLabel = "N",
            description = "Taylor: calibration items (default: 256 of --calib DATA; all 5,000 of a reference "
                    + "model's calibration subset, a few seconds on those models)")
    Integer calibSize;

    @Option(names = "--calib-batch", paramLabel = "N", defaultValue = "32",
            description = "Taylor: items per gradient run (default: ${DEFAULT-VALUE}); memory grows with it; scores "
                    + "sum |w x grad| per batch, so it is also the unit whose signs may cancel")
    int calibBatch;

    @Option(names = "--round-to", paramLabel = "N", defaultValue = "8",
            description = "FFN widths and conv channel counts are multiples of N (default: ${DEFAULT-VALUE})")
    int roundTo;

    @Option(names = "--finetune-steps", paramLabel = "N",
            description = "then fine-tune N steps, distilling from the model before pruning (SGD Nesterov, clip 1,"
                    + " T=2, alpha=0.5)")
    Long finetuneSteps;

    @Option(names = "--data", paramLabel = "DATA",
            description = "fine-tuning data (default: a reference classifier's training subset)")
    Path dataPath;

    @Option(names = "--lr", paramLabel = "X", description = "fine-tuning peak learning rate (default: 0.02)")
    Double lr;

    @Option(names = "--batch", paramLabel = "N", description = "fine-tuning items per step (default: 64)")
    Integer batch;

    @Option(names = "--derived-from", paramLabel = "MODEL",
            description = "the model MODEL was made from: when that is a reference model, its data defaults apply"
                    + " (a recipe passes its input model)")
    Path derivedFrom;

    @Option(names = "--report", paramLabel = "FILE", description = "write what was pruned as JSON")
    Path reportPath;

    @Option(names = "--no-optimize", negatable = false, description = "skip the lossless passes run before pruning")
    boolean noOptimize;

    @Option(names = "--force", description = "allow OUT to be the input file itself")
    boolean force;

    @Mixin
    DataOptions data;

    private ReferenceModels registry;

    @Override
    public Integer call() throws Exception {
        FfnRatioPass.Criterion criterion = checkedCriterion();
        // NOTE: --seed is the data options' (the seed of synthetic data); it also seeds random importance
        long seed = data.seed == null ? 0 : data.seed;
        OutputFiles.check(input, output, force);
        if (reportPath != null) {
            OutputFiles.check(input, reportPath, false);
        }
        Model original = OnnxReader.read(input);
        Model model = noOptimize ? original.copy() : OptimizeCommand.losslessCopy(original);
        // NOTE: the teacher is the model before pruning but after the lossless passes: the same
        // function as the input, and its graph is the one the student was cut from
        Model teacher = finetuneSteps == null ? null : model.copy();
        TrainingData training = teacher == null ? null : trainingData(teacher);
        ImportanceData calib = criterion == FfnRatioPass.Criterion.TAYLOR ? calibration(model) : null;
        PrintWriter out = spec.commandLine().getOut();
        ModelStats before = ModelStats.of(model);
        List<PruneReport> reports = new ArrayList<>();
        long t0 = System.nanoTime();
        ProgressBar bar = ProgressBar.forTerminal(spec.commandLine().getErr());
        PassContext context = PassContext.defaults().withProgress((pass, done, total) -> bar.update(done, total, pass));
        try {
            if (ffnRatio != null) {
                FfnRatioPass p = new FfnRatioPass(new FfnRatioPass.Options(ffnRatio, criterion,
                        dev.slimnx.passes.prune.MagnitudeImportance.Norm.L1, roundTo, seed, calib, 0,
                        ScoreNormalization.MAX));
                reports.add(p.prune(model, context));
            }
            if (qkDim != null) {
                reports.add(new QkDimPass(qkDim, criterion, calib).withSeed(seed).prune(model, context));
            }
            if (heads != null) {
                reports.add(new HeadPass(heads, criterion, calib).withSeed(seed).prune(model, context));
            }
            if (targetParams != null || targetMacs != null) {
                reports.add(new ReallocatePass(reallocation(criterion, seed, calib)).prune(model, context));
            }
            if (channels != null) {
                ConvChannelsPass p = new ConvChannelsPass(ConvChannelsPass.Options.of(channels, criterion)
                        .withRoundTo(roundTo).withSeed(seed).withData(calib, 0));
                reports.add(p.prune(model, context));
            }
        } catch (PassRefusedException e) {
            throw new UserError(input + ": " + e.getMessage() + "; " + output + " was not written");
        } finally {
            bar.done();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        ModelStats after = ModelStats.of(model);
        for (PruneReport r : reports) {
            out.print(r.summary());
        }
        out.printf(Locale.ROOT, "params %,d -> %,d (%.2fx), MACs %,d -> %,d (%.2fx), pruned in %.1f s%n",
                before.parameterCount(), after.parameterCount(), ratio(after.parameterCount(), before.parameterCount()),
                before.totalMacs(), after.totalMacs(), ratio(after.totalMacs(), before.totalMacs()), seconds);
        if (teacher != null) {
            model = finetune(model, teacher, training, out);
        }
        // NOTE: the report goes to a temporary file first and moves after the model, so a failure
        // leaves neither half-written
        Path reportTemp = reportPath == null ? null : writeReportTemp(reports, before, after, criterion);
        try {
            OnnxWriter.Result written = OnnxWriter.write(model, output, ExternalDataPolicy.keep());
            out.printf("wrote %s (%s)%n", written.model(), Format.bytes(written.modelBytes()));
            if (reportTemp != null) {
                Files.move(reportTemp, reportPath, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                out.printf("wrote %s%n", reportPath);
            }
        } finally {
            if (reportTemp != null) {
                Files.deleteIfExists(reportTemp);
            }
        }
        return ExitCode.OK;
    }

    private static double ratio(long a, long b) {
        return b == 0 ? 1 : (double) a / b;
    }

    private ReallocatePass.Options reallocation(FfnRatioPass.Criterion criterion, long seed, ImportanceData calib) {
        ReallocatePass.Target target = targetParams != null ? ReallocatePass.Target.PARAMS : ReallocatePass.Target.MACS;
        return ReallocatePass.Options.of(target, targetParams != null ? targetParams : targetMacs, criterion)
                .withRoundTo(roundTo).withSeed(seed).withData(calib, 0).withMinFraction(minWidth)
                .withNormalization(ScoreNormalization.parse(scoreNormalization)).withUniform(!reallocate).withEmbedDim(embedDim);
    }

    @Override
    public void checkOptions() {
        checkedCriterion();
    }

    private FfnRatioPass.Criterion checkedCriterion() {
        boolean target = targetParams != null || targetMacs != null;
        if (ffnRatio == null && qkDim == null && heads == null && channels == null && !target) {
            throw new UserError("give at least one of --ffn-ratio R, --qk-dim D, --heads H, --channels F, "
                    + "--target-params F, --target-macs F");
        }
        if (targetParams != null && targetMacs != null) {
            throw new UserError("give --target-params or --target-macs, not both");
        }
        if (target && (ffnRatio != null || qkDim != null || heads != null || channels != null)) {
            throw new UserError("--target-params/--target-macs decide every width; they cannot be combined with "
                    + "--ffn-ratio, --qk-dim, --heads or --channels");
        }
        if ((reallocate || embedDim) && !target) {
            throw new UserError((reallocate ? "--reallocate" : "--embed-dim") + " needs --target-params F or "
                    + "--target-macs F");
        }
        Double f = targetParams != null ? targetParams : targetMacs;
        if (f != null && !(f > 0 && f <= 1)) {
            throw new UserError("--target-" + (targetParams != null ? "params" : "macs") + " must be a fraction in "
                    + "(0, 1], got " + f);
        }
        if (!(minWidth > 0 && minWidth <= 1)) {
            throw new UserError("--min-width must be a fraction in (0, 1], got " + minWidth);
        }
        try {
            ScoreNormalization.parse(scoreNormalization);
        } catch (IllegalArgumentException e) {
            throw new UserError("--score-normalization: " + e.getMessage());
        }
        if (ffnRatio != null && !(ffnRatio > 0 && Double.isFinite(ffnRatio))) {
            throw new UserError("--ffn-ratio must be a positive number, got " + ffnRatio);
        }
        if (qkDim != null && qkDim < 1) {
            throw new UserError("--qk-dim must be at least 1, got " + qkDim);
        }
        if (heads != null && heads < 1) {
            throw new UserError("--heads must be at least 1, got " + heads);
        }
        if (channels != null && !(channels > 0 && channels < 1)) {
            throw new UserError("--channels must be a fraction in (0, 1), got " + channels);
        }
        if (roundTo < 1) {
            throw new UserError("--round-to must be at least 1, got " + roundTo);
        }
        if (calibSize != null && calibSize < 1) {
            throw new UserError("--calib-size must be at least 1, got " + calibSize);
        }
        if (calibBatch < 1) {
            throw new UserError("--calib-batch must be at least 1, got " + calibBatch);
        }
        if (finetuneSteps == null && (dataPath != null || lr != null || batch != null)) {
            throw new UserError("--data, --lr and --batch apply to the fine-tune; give --finetune-steps N");
        }
        if (finetuneSteps != null && finetuneSteps < 1) {
            throw new UserError("--finetune-steps must be at least 1, got " + finetuneSteps);
        }
        if (lr != null && !(lr > 0 && Double.isFinite(lr))) {
            throw new UserError("--lr must be a positive number, got " + lr);
        }
        if (batch != null && batch < 1) {
            throw new UserError("--batch must be at least 1, got " + batch);
        }
        if (reportPath != null && !reportPath.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".json")) {
            throw new UserError(reportPath + ": the prune report is JSON; give a file name ending in .json");
        }
        FfnRatioPass.Criterion c;
        try {
            c = FfnRatioPass.Criterion.parse(importance);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        if (calibPath != null && c != FfnRatioPass.Criterion.TAYLOR) {
            throw new UserError("--calib only applies to --importance taylor");
        }
        return c;
    }

    private Optional<ReferenceModel> reference() throws IOException {
        registry = Recovery.registryOrNull();
        return Recovery.identify(registry, input, derivedFrom);
    }

    /** The fine-tune's data: --data, or a reference classifier's training subset; checked before pruning. */
    private TrainingData trainingData(Model teacher) throws IOException {
        int b = batch == null ? 64 : batch;
        Recovery.checkBatchDim(input, teacher, b);
        Optional<ReferenceModel> ref = reference();
        DataSpec spec = Recovery.trainingData(dataPath, data, registry, ref, "--finetune-steps needs --data"
                + " DATA (a reference classifier brings its own training subset; " + input + " is not one)");
        return Recovery.load(spec, teacher, b);
    }

    /**
     * The recovery fine-tune: distillation from the teacher at the recovery defaults; prints the
     * run's summary and, for a reference classifier, top-1 on its test set of the model before
     * pruning, after pruning and after the fine-tune.
     */
    private Model finetune(Model pruned, Model teacher, TrainingData training, PrintWriter out) throws IOException {
        long seed = data.seed == null ? 0 : data.seed;
        TrainerOptions options;
        try {
            options = Recovery.sgd(lr == null ? Recovery.SGD_LEARNING_RATE : lr, seed, 0).withSteps(finetuneSteps);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        }
        options = Recovery.withDefaultWarmup(options, training.batchesPerEpoch());
        String logits = teacher.graph().outputs().getFirst().name();
        Optional<ReferenceModel> ref = reference();
        QuantEvaluation eval = Recovery.referenceTestSet(registry, ref, teacher, logits, 0);
        double original = eval == null ? Double.NaN : eval.top1(teacher);
        double before = eval == null ? Double.NaN : eval.top1(pruned);
        TrainingResult result = Recovery.train(input, pruned, training,
                Distillation.of(teacher, Recovery.TEMPERATURE, Recovery.ALPHA), options, spec.commandLine().getErr());
        Recovery.summary(out, output.getFileName(), result, batch == null ? 64 : batch, training.batchesPerEpoch());
        if (eval != null) {
            double after = eval.top1(result.model());
            out.printf(Locale.ROOT, "top-1 on the reference test set (%d items): original %.4f, pruned %.4f, fine-tuned"
                    + " %.4f (%+.2f points vs the original)%n", eval.items(), original, before, after,
                    100 * (after - original));
        }
        return result.model();
    }

    /** Calibration batches for Taylor importance: --calib, or a reference classifier's calibration subset. */
    private ImportanceData calibration(Model model) throws IOException {
        DataSpec ds;
        if (calibPath != null) {
            ds = data.toSpec(calibPath, DataOptions.defaults(calibPath));
        } else {
            Optional<ReferenceModel> ref = reference();
            if (ref.isPresent() && (ref.get().task() == ReferenceModel.Task.CLASSIFICATION
                    || ref.get().task() == ReferenceModel.Task.MULTITASK)) {
                ReferenceModel.Preprocessing p = ref.get().inputs().get(0).preprocessing();
                DataSpec d = DataSpec.images(registry.dataFile("calib_images"), "train",
                        new ImagePreprocessing(p.scale(), p.mean(), p.std()));
                ds = data.toSpec(d.source(), d);
            } else {
                throw new UserError("--importance taylor needs --calib DATA (a reference classifier brings its own "
                        + "calibration set; this model is not one), or choose --importance magnitude or random");
            }
        }
        // NOTE: Taylor scores are sums over data and noisy on few items: on the reference models the
        // whole subset costs seconds and ranks better (docs/BENCHMARKS.md); user data may be large
        int wanted = calibSize != null ? calibSize : calibPath == null ? Integer.MAX_VALUE : DEFAULT_CALIB_SIZE;
        List<ImportanceData.Batch> batches = new ArrayList<>();
        int items = 0;
        try (Dataset d = Datasets.open(ds, model, "train")) {
            for (Batch b; items < wanted && (b = d.next(Math.min(calibBatch, wanted - items))) != null; ) {
                Tensor labels = null;
                if (b.labels() != null) {
                    long[] l = new long[b.size()];
                    for (int i = 0; i < l.length; i++) {
                        l[i] = b.labels()[i];
                    }
                    labels = Tensor.ofLongs("labels", new long[] {l.length}, l);
                }
                batches.add(new ImportanceData.Batch(b.inputs(), labels));
                items += b.size();
            }
        }
        if (batches.isEmpty()) {
            throw new UserError((ds.source() == null ? "synthetic data" : ds.source()) + ": no calibration items");
        }
        spec.commandLine().getOut().printf(Locale.ROOT, "Taylor importance: %,d calibration items from %s in batches of %d%n",
                items, ds.source() == null ? "synthetic data" : ds.source(), calibBatch);
        return ImportanceData.of(batches);
    }

    private Path writeReportTemp(List<PruneReport> reports, ModelStats before, ModelStats after,
                                 FfnRatioPass.Criterion criterion) throws IOException {
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("schema", SCHEMA);
        json.put("model", input.toString());
        json.put("output", output.toString());
        json.put("importance", criterion.name().toLowerCase(Locale.ROOT));
        json.put("parameters_before", before.parameterCount());
        json.put("parameters_after", after.parameterCount());
        json.put("macs_before", before.totalMacs());
        json.put("macs_after", after.totalMacs());
        List<Object> passes = new ArrayList<>();
        for (PruneReport r : reports) {
            passes.add(toJson(r));
        }
        json.put("passes", passes);
        Path tmp = AtomicFiles.temp(reportPath);
        Files.writeString(tmp, Reports.json().writeValueAsString(json) + "\n");
        return tmp;
    }

    private static Map<String, Object> toJson(PruneReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pass", r.pass());
        m.put("importance", r.importance());
        m.put("parameters_before", r.parametersBefore());
        m.put("parameters_after", r.parametersAfter());
        m.put("macs_before", r.macsBefore());
        m.put("macs_after", r.macsAfter());
        List<Object> groups = new ArrayList<>();
        for (PruneReport.Group g : r.pruned()) {
            Map<String, Object> o = new LinkedHashMap<>();
            o.put("name", g.name());
            o.put("input_width", g.inputWidth());
            o.put("width_before", g.widthBefore());
            o.put("width_after", g.widthAfter());
            o.put("kept", g.kept());
            Map<String, Object> s = new LinkedHashMap<>();
            s.put("min", finite(g.scores().min()));
            s.put("mean", finite(g.scores().mean()));
            s.put("max", finite(g.scores().max()));
            s.put("lowest_kept", finite(g.scores().lowestKept()));
            s.put("highest_removed", finite(g.scores().highestRemoved()));
            o.put("scores", s);
            o.put("parameters_removed", g.parametersRemoved());
            groups.add(o);
        }
        m.put("pruned", groups);
        m.put("unchanged", r.unchanged());
        List<Object> refused = new ArrayList<>();
        for (PruneReport.Refusal x : r.refused()) {
            refused.add(Map.of("name", x.name(), "reason", x.reason()));
        }
        m.put("refused", refused);
        return m;
    }

    /** JSON has no NaN or infinities: such a score is written as null. */
    private static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
