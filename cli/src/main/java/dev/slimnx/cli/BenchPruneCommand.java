package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.prune.FfnFinder;
import dev.slimnx.passes.prune.FfnLayer;
import dev.slimnx.passes.prune.FfnRatioPass;
import dev.slimnx.passes.prune.ImportanceData;
import dev.slimnx.passes.prune.MagnitudeImportance;
import dev.slimnx.passes.prune.ScoreNormalization;
import dev.slimnx.passes.train.Distillation;
import dev.slimnx.passes.train.TrainerOptions;
import dev.slimnx.passes.train.TrainingData;
import dev.slimnx.passes.train.TrainingResult;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ExecutionProvider;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.OptimizationLevel;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.ReferenceTaskEvaluator;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.DetectionCanvases;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.data.LabelledImages;
import dev.slimnx.validate.data.NavitStream;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
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
 * {@code slimnx bench prune}: FFN ratio reduction on every transformer reference model to half its
 * own ratio (4 → 2, EfficientViT 2 → 1), after the lossless pipeline as {@code slimnx prune} runs
 * it, ranked by Taylor importance (the calibration subset, 256 items), L1 magnitude and random
 * (several seeds), without fine-tuning: params, MACs and the manifest's metric(s) against the
 * original; then the Taylor model fine-tuned by distillation from the original (the
 * {@link Recovery} defaults) for at most one epoch, and its metric. Ends with a verdict per bar of
 * issue 8.
 *
 * <p>Data per task, as the reference recipes build it: classifiers (and MemViT, whose first head
 * is the labelled one) take images with labels; NaViT takes packs of the mixed-resolution stream
 * (Taylor with one label per image slot, the fine-tune by KL alone, since its padding slots have
 * no label); DETR takes canvases without labels (Taylor and the fine-tune compare class scores
 * with the original's; boxes are not distilled).
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
        description = "FFN ratio halved with Taylor, magnitude and random importance, then a distillation fine-tune"
                + " (Markdown).")
final class BenchPruneCommand implements Callable<Integer> {
    /** The transformer reference models, in the table's order. */
    static final List<String> MODELS = List.of("vit", "deepvit", "mobilevit", "mobilevitv2", "efficientvit", "navit",
            "memvit", "detr");
    /** Items per Taylor calibration batch, as {@code slimnx prune} reads them. */
    private static final int CALIB_BATCH = 32;
    /**
     * NOTE: a DETR canvas holds 1 to 4 images (2.5 on average), so an epoch of the training images
     * is their count / 2.5 canvases: each image shows up once on average.
     */
    private static final double IMAGES_PER_CANVAS = 2.5;

    @Spec
    CommandSpec spec;

    @Option(names = "--models", split = ",", paramLabel = "NAME[,NAME...]", description = "default: the 8 transformers")
    List<String> models = new ArrayList<>(MODELS);

    @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--limit", defaultValue = "0",
            description = "classifiers: test images evaluated, 0 for all (NaViT and DETR: always their full sets)")
    int limit;

    @Option(names = "--calib-size", defaultValue = "5000",
            description = "Taylor calibration items (default: ${DEFAULT-VALUE}, the whole subset, as slimnx prune reads "
                    + "a reference model's)")
    int calibSize;

    @Option(names = "--seeds", defaultValue = "3", description = "random importance: seeds 0..N-1, mean reported")
    int seeds;

    @Option(names = "--finetune-steps", paramLabel = "N",
            description = "fine-tune steps (default: one epoch of the training images; 0 for no fine-tune)")
    Long finetuneSteps;

    @Option(names = "--batch", defaultValue = "64", description = "fine-tune items (canvases) per step; NaViT: one pack")
    int batch;

    @Option(names = "--lr", defaultValue = "0.02", description = "fine-tune peak learning rate (default: ${DEFAULT-VALUE})")
    double lr;

    @Option(names = "--train-images", paramLabel = "IDX",
            description = "fine-tune images instead of the 5k subset, e.g. the full 60k train-images-idx3-ubyte.gz")
    Path trainImages;

    @Option(names = "--train-labels", paramLabel = "IDX", description = "their labels (with --train-images)")
    Path trainLabels;

    private ReferenceModels registry;
    private RunOptions runOptions;

    /** One model's figures: metric name → value, per variant. */
    private record Row(String model, double ratioBefore, double ratioAfter, long paramsBefore, long paramsAfter,
                       long macsBefore, long macsAfter, Map<String, Double> original, Map<String, Double> taylor,
                       Map<String, Double> magnitude, Map<String, Double> randomSeed0, Map<String, Double> randomMean,
                       Map<String, Double> finetuned, double epochs, String finetune) {
    }

    @Override
    public Integer call() throws Exception {
        if (threads < 0 || limit < 0 || calibSize < 1 || seeds < 1 || batch < 1 || !(lr > 0)
                || finetuneSteps != null && finetuneSteps < 0) {
            throw new UserError("--threads, --limit, --finetune-steps >= 0; --calib-size, --seeds, --batch >= 1; --lr > 0");
        }
        if ((trainImages == null) != (trainLabels == null)) {
            throw new UserError("give --train-images and --train-labels together");
        }
        registry = ReferenceModels.locate();
        runOptions = new RunOptions(ExecutionProvider.CPU, threads, OptimizationLevel.ALL);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        LabelledImages train = trainImages == null
                ? LabelledImages.read(registry.dataFile("calib_images"), registry.dataFile("calib_labels"))
                : LabelledImages.read(trainImages, trainLabels);
        out.printf(Locale.ROOT, "ONNX Runtime %s, CPU, %d threads; FFN ratio halved after the lossless pipeline; Taylor on"
                        + " the first %d calibration images (batches of %d); random: mean of seeds 0..%d; fine-tune:"
                        + " distillation from the original (SGD Nesterov, lr %s, clip %s, T=%s, alpha=%s, 10%% warm-up,"
                        + " cosine) on %s (%d images); test: %s%n%n",
                ModelRunner.ortVersion(), threads, calibSize, CALIB_BATCH, seeds - 1, lr, Recovery.CLIP_NORM,
                Recovery.TEMPERATURE, Recovery.ALPHA, trainImages == null ? "the 5k training subset" : trainImages,
                train.size(), limit == 0 ? "full test sets" : "first " + limit + " test images of the classifiers");
        out.flush();
        List<Row> rows = new ArrayList<>();
        for (String name : models) {
            ReferenceModel ref = registry.find(name).orElseThrow(() -> new UserError("no reference model '" + name
                    + "'; the transformers are " + String.join(", ", MODELS)));
            long t0 = System.nanoTime();
            Row row = row(ref, train, err);
            rows.add(row);
            err.printf(Locale.ROOT, "%s done in %.0f s%n", name, (System.nanoTime() - t0) / 1e9);
            err.flush();
        }
        table(out, rows);
        verdicts(out, rows);
        return ExitCode.OK;
    }

    private Row row(ReferenceModel ref, LabelledImages train, PrintWriter err) throws Exception {
        Model original = OptimizeCommand.losslessCopy(OnnxReader.read(ref.file()));
        List<FfnLayer> layers = FfnFinder.find(original);
        if (layers.isEmpty()) {
            throw new UserError(ref.name() + ": no FFN layer found");
        }
        double ratio = layers.getFirst().ratio();
        double half = ratio / 2;
        ImportanceData calib = calibration(ref);
        Model taylor = prune(original, FfnRatioPass.Criterion.TAYLOR, half, 0, calib);
        Model magnitude = prune(original, FfnRatioPass.Criterion.MAGNITUDE, half, 0, null);
        ModelStats before = ModelStats.of(original);
        ModelStats after = ModelStats.of(taylor);
        Map<String, Double> base = evaluate(ref, original);
        Map<String, Double> t = evaluate(ref, taylor);
        Map<String, Double> m = evaluate(ref, magnitude);
        Map<String, Double> r0 = null;
        Map<String, Double> sum = new LinkedHashMap<>();
        for (int s = 0; s < seeds; s++) {
            Map<String, Double> r = evaluate(ref, prune(original, FfnRatioPass.Criterion.RANDOM, half, s, null));
            r0 = r0 == null ? r : r0;
            r.forEach((k, v) -> sum.merge(k, v, Double::sum));
        }
        Map<String, Double> mean = new LinkedHashMap<>();
        sum.forEach((k, v) -> mean.put(k, v / seeds));
        Map<String, Double> tuned = null;
        String how = "not run";
        double epochs = 0;
        if (finetuneSteps == null || finetuneSteps > 0) {
            TrainingData data = training(ref, original, train);
            long steps = finetuneSteps != null ? finetuneSteps : data.batchesPerEpoch();
            TrainerOptions options = Recovery.withDefaultWarmup(Recovery.sgd(lr, 0, threads).withSteps(steps),
                    data.batchesPerEpoch());
            TrainingResult result = Recovery.train(ref.name(), taylor, data,
                    Distillation.of(original, Recovery.TEMPERATURE, Recovery.ALPHA), options, err);
            tuned = evaluate(ref, result.model());
            epochs = (double) result.steps() / data.batchesPerEpoch();
            how = String.format(Locale.ROOT, "%d steps (%.2f epoch), %s, %.0f s", result.steps(),
                    epochs, result.loss(), result.seconds());
        }
        return new Row(ref.name(), ratio, half, before.parameterCount(), after.parameterCount(), before.totalMacs(),
                after.totalMacs(), base, t, m, r0, mean, tuned, epochs, how);
    }

    private static Model prune(Model original, FfnRatioPass.Criterion criterion, double ratio, long seed,
                               ImportanceData calib) {
        Model m = original.copy();
        new FfnRatioPass(new FfnRatioPass.Options(ratio, criterion, MagnitudeImportance.Norm.L1, 8, seed, calib, 0,
                ScoreNormalization.MAX)).prune(m, PassContext.defaults());
        return m;
    }

    /** The manifest's metrics (DETR: mAP@0.5, the metric of the bar) on the reference test data. */
    private Map<String, Double> evaluate(ReferenceModel ref, Model model) throws IOException {
        ReferenceModel.Preprocessing p = ref.inputs().get(0).preprocessing();
        DataSpec test = DataSpec.images(registry.dataFile("test_images"), "test",
                new ImagePreprocessing(p.scale(), p.mean(), p.std()));
        if (limit > 0) {
            test = new DataSpec(test.source(), test.split(), test.scale(), test.mean(), test.std(), 0, 0, "NCHW", limit,
                    null, Map.of(), 0);
        }
        Map<String, int[]> maps = new LinkedHashMap<>();
        for (ReferenceModel.OutputSpec o : ref.outputs()) {
            maps.put(o.name(), ref.labelMaps().get(o.name()));
        }
        Map<String, Double> all;
        try (ModelRunner runner = ModelRunner.open(model, runOptions)) {
            all = ReferenceTaskEvaluator.evaluate(ref.task().name().toLowerCase(Locale.ROOT), model, runner, test, maps);
        }
        Map<String, Double> kept = new LinkedHashMap<>(all);
        kept.keySet().retainAll(ref.metrics().keySet());
        kept.remove("map50_95");
        return kept;
    }

    private static ImagePreprocessing preprocessing(ReferenceModel ref) {
        ReferenceModel.Preprocessing p = ref.inputs().get(0).preprocessing();
        return new ImagePreprocessing(p.scale(), p.mean(), p.std());
    }

    /**
     * Taylor's calibration batches from the first calibration images, as {@code slimnx prune} reads
     * them for a classifier; NaViT: the packs of those images; DETR: unlabelled canvases.
     */
    private ImportanceData calibration(ReferenceModel ref) throws IOException {
        LabelledImages all = LabelledImages.read(registry.dataFile("calib_images"), registry.dataFile("calib_labels"));
        int n = Math.min(calibSize, all.size());
        LabelledImages images = new LabelledImages(Arrays.copyOf(all.pixels(), n), Arrays.copyOf(all.labels(), n),
                all.height(), all.width());
        List<ImportanceData.Batch> batches = new ArrayList<>();
        switch (ref.task()) {
            case PACKED -> {
                for (Map<String, Tensor> pack : packs(ref, images, true)) {
                    Map<String, Tensor> feeds = new LinkedHashMap<>(pack);
                    batches.add(new ImportanceData.Batch(feeds, feeds.remove(TrainingData.LABELS)));
                }
            }
            case DETECTION -> {
                for (Map<String, Tensor> c : canvases(ref, images, n, CALIB_BATCH, DetectionCanvases.EVAL_SEED + 1)) {
                    batches.add(new ImportanceData.Batch(c, null));
                }
            }
            case CLASSIFICATION, MULTITASK -> {
                for (int from = 0; from < n; from += CALIB_BATCH) {
                    Map<String, Tensor> b = images(ref, images, from, Math.min(n, from + CALIB_BATCH));
                    Map<String, Tensor> feeds = new LinkedHashMap<>(b);
                    Tensor l = feeds.remove(TrainingData.LABELS);
                    batches.add(new ImportanceData.Batch(feeds, Tensor.ofLongs("labels", l.dims(), l.toLongArray())));
                }
            }
        }
        return ImportanceData.of(batches);
    }

    /** The fine-tune's data: labelled images (shuffled per epoch), NaViT packs, or DETR canvases. */
    private TrainingData training(ReferenceModel ref, Model model, LabelledImages images) {
        return switch (ref.task()) {
            case PACKED -> {
                List<Map<String, Tensor>> packs = new ArrayList<>();
                for (Map<String, Tensor> p : packs(ref, images, false)) {
                    packs.add(p);
                }
                yield TrainingData.of(packs);
            }
            case DETECTION -> TrainingData.of(canvases(ref, images, (int) Math.round(images.size() / IMAGES_PER_CANVAS),
                    batch, DetectionCanvases.EVAL_SEED + 2));
            case CLASSIFICATION, MULTITASK -> {
                Map<String, Tensor> all = new LinkedHashMap<>(images(ref, images, 0, images.size()));
                Tensor labels = all.remove(TrainingData.LABELS);
                yield TrainingData.inMemory(all, labels.toLongArray(), batch);
            }
        };
    }

    /** Images [from, to) as the model's input, their labels under {@link TrainingData#LABELS}. */
    private static Map<String, Tensor> images(ReferenceModel ref, LabelledImages images, int from, int to) {
        float[][] pixels = images.preprocessed(preprocessing(ref));
        int hw = images.height() * images.width();
        int n = to - from;
        float[] x = new float[n * hw];
        long[] labels = new long[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(pixels[from + i], 0, x, i * hw, hw);
            labels[i] = images.labels()[from + i];
        }
        String input = ref.inputs().getFirst().name();
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put(input, Tensor.ofFloats(input, new long[] {n, 1, images.height(), images.width()}, x));
        out.put(TrainingData.LABELS, Tensor.ofLongs(TrainingData.LABELS, new long[] {n}, labels));
        return out;
    }

    /** The packs of the images' mixed-resolution stream; with labels, one per image slot (-1 for an empty one). */
    private static List<Map<String, Tensor>> packs(ReferenceModel ref, LabelledImages images, boolean labelled) {
        float[][] pixels = images.preprocessed(preprocessing(ref));
        int[] sizes = NavitStream.sizes(images.size(), NavitStream.EVAL_SEED);
        List<String> names = ref.inputs().stream().map(ReferenceModel.InputSpec::name).toList();
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (int[] members : NavitStream.pack(sizes)) {
            Map<String, Tensor> feeds = new LinkedHashMap<>(NavitStream.build(pixels, sizes, members, 0).feeds(names));
            if (labelled) {
                long[] labels = new long[NavitStream.MAX_IMAGES];
                Arrays.fill(labels, -1);
                for (int j = 0; j < members.length; j++) {
                    labels[j] = images.labels()[members[j]];
                }
                feeds.put(TrainingData.LABELS, Tensor.ofLongs("labels", new long[] {labels.length}, labels));
            }
            out.add(feeds);
        }
        return out;
    }

    /** {@code count} detection canvases from the images, in batches. */
    private static List<Map<String, Tensor>> canvases(ReferenceModel ref, LabelledImages images, int count, int per,
                                                      long seed) {
        List<DetectionCanvases.Canvas> all = DetectionCanvases.make(count, seed, images.pixels(), images.labels());
        String input = ref.inputs().getFirst().name();
        List<Map<String, Tensor>> out = new ArrayList<>();
        for (int from = 0; from < all.size(); from += per) {
            out.add(Map.of(input, DetectionCanvases.input(all.subList(from, Math.min(all.size(), from + per)),
                    preprocessing(ref), input)));
        }
        return out;
    }

    private static String f(Map<String, Double> m, String k) {
        return m == null ? "—" : String.format(Locale.ROOT, "%.4f", m.get(k));
    }

    private static String pts(Map<String, Double> m, Map<String, Double> base, String k) {
        return m == null ? "" : String.format(Locale.ROOT, " (%+.2f)", 100 * (m.get(k) - base.get(k)));
    }

    private void table(PrintWriter out, List<Row> rows) {
        out.println("| model | FFN ratio | params | MACs | metric | original | Taylor | magnitude (L1) | random seed 0"
                + " | random mean of " + seeds + " | Taylor + fine-tune | fine-tune |");
        out.println("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
        for (Row r : rows) {
            for (String k : r.original().keySet()) {
                out.printf(Locale.ROOT, "| %s | %s → %s | %,d → %,d | %,d → %,d | %s | %s | %s%s | %s%s | %s%s | %s%s |"
                                + " %s%s | %s |%n", r.model(), num(r.ratioBefore()), num(r.ratioAfter()),
                        r.paramsBefore(), r.paramsAfter(), r.macsBefore(), r.macsAfter(), k, f(r.original(), k),
                        f(r.taylor(), k), pts(r.taylor(), r.original(), k), f(r.magnitude(), k),
                        pts(r.magnitude(), r.original(), k), f(r.randomSeed0(), k), pts(r.randomSeed0(), r.original(), k),
                        f(r.randomMean(), k), pts(r.randomMean(), r.original(), k), f(r.finetuned(), k),
                        pts(r.finetuned(), r.original(), k), r.finetune());
            }
        }
        out.println();
        out.println("(points = 100 × metric difference against the original, in parentheses)");
        out.flush();
    }

    private static String num(double v) {
        return v == Math.rint(v) ? String.valueOf((long) v) : String.valueOf(v);
    }

    /** True when a beats (or, with orEqual, matches) b on every metric of the model. */
    private static boolean holds(Map<String, Double> a, Map<String, Double> b, boolean orEqual) {
        for (String k : a.keySet()) {
            double x = a.get(k);
            double y = b.get(k);
            if (orEqual ? x < y : x <= y) {
                return false;
            }
        }
        return true;
    }

    private void verdicts(PrintWriter out, List<Row> rows) {
        List<String> notRandom = rows.stream().filter(r -> !holds(r.taylor(), r.randomMean(), false))
                .map(Row::model).toList();
        List<String> notRandom0 = rows.stream().filter(r -> !holds(r.taylor(), r.randomSeed0(), false))
                .map(Row::model).toList();
        long vsMagnitude = rows.stream().filter(r -> holds(r.taylor(), r.magnitude(), true)).count();
        List<String> lostToMagnitude = rows.stream().filter(r -> !holds(r.taylor(), r.magnitude(), true))
                .map(Row::model).toList();
        List<String> notRecovered = new ArrayList<>();
        for (Row r : rows) {
            if (r.finetuned() == null) {
                notRecovered.add(r.model() + " (not run)");
                continue;
            }
            if (r.epochs() > 1 + 1e-9) {
                notRecovered.add(r.model() + String.format(Locale.ROOT, " (%.2f epochs: over the limit)", r.epochs()));
                continue;
            }
            for (String k : r.original().keySet()) {
                if (100 * (r.original().get(k) - r.finetuned().get(k)) > 1) {
                    notRecovered.add(r.model() + " " + k);
                }
            }
        }
        int n = rows.size();
        int need = (int) Math.ceil(n * 6 / 8.0);
        out.println();
        out.printf("- Taylor beats random on every model (every metric, vs the mean of %d seeds): %s%n", seeds,
                notRandom.isEmpty() ? "**met**" : "**missed** on " + String.join(", ", notRandom));
        out.printf("  (vs seed 0 alone: %s)%n", notRandom0.isEmpty() ? "met" : "missed on " + String.join(", ", notRandom0));
        out.printf("- Taylor >= magnitude on >= %d of %d: %s (%d of %d%s)%n", need, n,
                vsMagnitude >= need ? "**met**" : "**missed**", vsMagnitude, n,
                lostToMagnitude.isEmpty() ? "" : "; below magnitude: " + String.join(", ", lostToMagnitude));
        out.printf("- after <= 1 epoch of distillation fine-tune within 1 point of the original: %s%n",
                notRecovered.isEmpty() ? "**met**" : "**missed** on " + String.join(", ", notRecovered));
        out.flush();
    }
}
