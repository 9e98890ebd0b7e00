package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassOptions;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.autodiff.NotDifferentiableException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Prunes every FFN hidden layer to {@code R × d} units, keeping the most important: the FFN ratio
 * reduction of the EfficientViT paper (4 → 2 for a ViT MLP, 2 → 1 for EfficientViT's FFNs).
 *
 * <p>The layers are those {@link FfnFinder} recognises (a hidden layer {@code d → h → d} added back
 * to the residual). For each, the target width is {@code R·d} rounded to the nearest multiple of
 * {@code roundTo} (at least {@code roundTo}); a layer already at or below it is left alone, so a
 * ratio equal to the model's own changes nothing. The kept units are the {@code target} highest
 * scores of the importance criterion (ties go to the lower index), kept in their original order;
 * {@link ChannelPruner} removes the others from both linear layers, the bias and anything between.
 * Scores are computed once, on the unpruned model, for all layers.
 *
 * <p>When it does not fire: a layer whose group is refused (an op the analysis cannot follow
 * between the two linear layers) is reported in {@link PruneReport#refused()} and left unchanged.
 * The whole model is refused ({@link #requires}) when Taylor importance is asked for without
 * calibration data or below opset 13 (the gradient engine's minimum), and at run time, before any
 * change, when an op between the FFN weights and the loss has no backward rule.
 *
 * <p>The pass works on the model as given; {@code slimnx prune} runs the lossless pipeline first
 * (weights exported twice become one, so a shared MLP is pruned once, consistently).
 */
public final class FfnRatioPass extends PruningPass {
    /** The pass id. */
    public static final String ID = "prune-ffn";

    private static final System.Logger LOG = System.getLogger(FfnRatioPass.class.getName());

    /** The importance criteria the pass offers. */
    public enum Criterion {
        /** First-order Taylor, from calibration data. */
        TAYLOR,
        /** Weight magnitude (L1 or L2). */
        MAGNITUDE,
        /** Seeded random scores. */
        RANDOM;

        /**
         * @param text {@code taylor}, {@code magnitude} or {@code random}, any case
         * @return the criterion
         * @throws IllegalArgumentException naming the choices
         */
        public static Criterion parse(String text) {
            try {
                return valueOf(text.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("importance '" + text + "' is not taylor, magnitude or random");
            }
        }
    }

    /**
     * @param ratio R: the hidden width becomes {@code R × d}; positive
     * @param criterion how units are scored
     * @param norm for magnitude: L1 or L2
     * @param roundTo the hidden width is a multiple of this (8 suits SIMD kernels), at least 1
     * @param seed the seed of random importance
     * @param data calibration batches for Taylor; may be null for the other criteria
     * @param calibBatches Taylor batches read, 0 for all
     * @param normalization how scores are normalised per layer in the report
     */
    public record Options(double ratio, Criterion criterion, MagnitudeImportance.Norm norm, int roundTo, long seed,
                          ImportanceData data, int calibBatches, ScoreNormalization normalization) {
        /** @throws IllegalArgumentException for a bad value, naming it */
        public Options {
            if (!(ratio > 0) || Double.isInfinite(ratio)) {
                throw new IllegalArgumentException("ratio must be positive, got " + ratio);
            }
            Objects.requireNonNull(criterion, "criterion");
            Objects.requireNonNull(norm, "norm");
            Objects.requireNonNull(normalization, "normalization");
            if (roundTo < 1) {
                throw new IllegalArgumentException("round-to must be at least 1, got " + roundTo);
            }
            if (calibBatches < 0) {
                throw new IllegalArgumentException("calib-batches must be 0 (all) or more, got " + calibBatches);
            }
        }

        /**
         * @param ratio R
         * @param criterion the importance
         * @return L1 magnitude norm, round to 8, seed 0, no data, all batches, max normalization
         */
        public static Options of(double ratio, Criterion criterion) {
            return new Options(ratio, criterion, MagnitudeImportance.Norm.L1, 8, 0, null, 0, ScoreNormalization.MAX);
        }

        /** @return these options with calibration data */
        public Options withData(ImportanceData newData, int batches) {
            return new Options(ratio, criterion, norm, roundTo, seed, newData, batches, normalization);
        }

        /** @return these options rounding to another multiple */
        public Options withRoundTo(int multiple) {
            return new Options(ratio, criterion, norm, multiple, seed, data, calibBatches, normalization);
        }

        /** @return these options with another magnitude norm */
        public Options withNorm(MagnitudeImportance.Norm newNorm) {
            return new Options(ratio, criterion, newNorm, roundTo, seed, data, calibBatches, normalization);
        }

        /** @return these options with another seed */
        public Options withSeed(long newSeed) {
            return new Options(ratio, criterion, norm, roundTo, newSeed, data, calibBatches, normalization);
        }

        /**
         * @param inputWidth d
         * @param hiddenWidth h
         * @return the width the layer is pruned to ({@code hiddenWidth} when it stays)
         */
        public int targetWidth(int inputWidth, int hiddenWidth) {
            long t = Math.round(ratio * inputWidth / roundTo) * roundTo;
            t = Math.max(t, Math.min(roundTo, hiddenWidth));
            return (int) Math.min(Math.max(t, 1), hiddenWidth);
        }

        /** @return the criterion as an {@link Importance} */
        public Importance importance() {
            return switch (criterion) {
                case TAYLOR -> new TaylorImportance(Objects.requireNonNull(data, "Taylor importance needs data"),
                        TaylorImportance.Options.defaults().withMaxBatches(calibBatches));
                case MAGNITUDE -> new MagnitudeImportance(norm);
                case RANDOM -> new RandomImportance(seed);
            };
        }

        static Options parse(PassOptions o, ImportanceData data) {
            long roundTo = o.longValue("round-to");
            long batches = o.longValue("calib-batches");
            if (roundTo > Integer.MAX_VALUE || batches > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("pass " + ID + ": round-to or calib-batches is too large");
            }
            String norm = o.string("norm").strip().toUpperCase(Locale.ROOT);
            if (!norm.equals("L1") && !norm.equals("L2")) {
                throw new IllegalArgumentException("pass " + ID + " option norm: '" + o.string("norm") + "' is not l1 or l2");
            }
            return new Options(o.doubleValue("ratio"), Criterion.parse(o.string("importance")),
                    MagnitudeImportance.Norm.valueOf(norm), (int) roundTo, o.longValue("seed"), data, (int) batches,
                    ScoreNormalization.parse(o.string("normalization")));
        }
    }

    private static final List<PassOption> OPTIONS = List.of(
            new PassOption("ratio", "hidden width of every FFN as a multiple of its input width", "2"),
            new PassOption("importance", "how units are ranked: taylor (needs calibration data), magnitude or random",
                    "taylor"),
            new PassOption("norm", "for magnitude importance: l1 or l2", "l1"),
            new PassOption("round-to", "hidden widths are multiples of this", "8"),
            new PassOption("seed", "seed of random importance", "0"),
            new PassOption("calib-batches", "Taylor: calibration batches read, 0 for all", "0"),
            new PassOption("normalization", "per-layer score normalization in the report: max, sum or none", "max"));

    /**
     * How the CLI and recipes find this pass. Its passes have no calibration data, so Taylor
     * importance refuses to run; build with {@link #descriptor(ImportanceData)} for that.
     */
    public static final PassDescriptor DESCRIPTOR = describe(null);

    private final Options options;

    /** @param options the ratio, the criterion and its data */
    public FfnRatioPass(Options options) {
        super(ID, "FFN hidden layers pruned", "hidden units removed");
        this.options = Objects.requireNonNull(options, "options");
    }

    /**
     * @param data calibration batches for Taylor importance
     * @return a descriptor like {@link #DESCRIPTOR} whose passes read {@code data}
     */
    public static PassDescriptor descriptor(ImportanceData data) {
        return describe(Objects.requireNonNull(data, "data"));
    }

    private static PassDescriptor describe(ImportanceData data) {
        return new PassDescriptor(ID, "prune every FFN hidden layer to ratio x its input width, keeping the most "
                + "important units", false, OPTIONS, o -> new FfnRatioPass(Options.parse(o, data)));
    }


    /** @return the options */
    public Options options() {
        return options;
    }

    @Override
    public void requires(Model model) {
        if (options.criterion() == Criterion.TAYLOR) {
            if (options.data() == null) {
                throw new PassRefusedException(ID, "Taylor importance needs calibration data (build the pass with "
                        + "FfnRatioPass.descriptor(data), or choose importance magnitude or random)");
            }
            long opset = model.opsetVersion("");
            if (opset < 13) {
                throw new PassRefusedException(ID, "Taylor importance needs default-domain opset 13 or more for its "
                        + "gradients; the model imports " + (opset < 0 ? "none" : opset));
            }
        }
    }



    /**
     * Runs the pass and reports in detail.
     *
     * @param model the model, pruned in place
     * @param context seed and runtime for Taylor importance
     * @return what was pruned, refused and left, with params and MACs before and after
     * @throws PassRefusedException before any change, when Taylor importance cannot differentiate
     *     the model or has no data
     */
    @Override
    PruneReport pruneInPlace(Model model, PassContext context) {
        List<FfnLayer> layers = FfnFinder.find(model);
        List<FfnLayer> toPrune = new ArrayList<>();
        List<String> unchanged = new ArrayList<>();
        List<PruneReport.Refusal> refused = new ArrayList<>();
        for (FfnLayer l : layers) {
            if (!l.isPrunable()) {
                refused.add(new PruneReport.Refusal(l.name(), l.refusal()));
                LOG.log(System.Logger.Level.DEBUG, () -> ID + ": " + l.name() + " refused: " + l.refusal());
            } else if (options.targetWidth(l.inputWidth(), l.hiddenWidth()) < l.hiddenWidth()) {
                toPrune.add(l);
            } else {
                unchanged.add(l.name());
            }
        }
        Importance importance = options.importance();
        ModelStats before = ModelStats.of(model);
        List<PruneReport.Group> pruned = new ArrayList<>();
        if (!toPrune.isEmpty()) {
            List<double[]> scores;
            try {
                scores = importance.scores(model, toPrune.stream().map(FfnLayer::group).toList(), context);
            } catch (NotDifferentiableException | IllegalArgumentException e) {
                throw new PassRefusedException(ID, importance.name() + " importance cannot score this model: "
                        + e.getMessage());
            }
            for (int k = 0; k < toPrune.size(); k++) {
                FfnLayer l = toPrune.get(k);
                int target = options.targetWidth(l.inputWidth(), l.hiddenWidth());
                double[] s = scores.get(k);
                int[] keep = topIndices(s, target);
                ChannelPruner.Outcome o = ChannelPruner.prune(model, l.group(), keep);
                double[] normalised = options.normalization().apply(s);
                pruned.add(new PruneReport.Group(l.name(), l.inputWidth(), l.hiddenWidth(), target, keep,
                        PruneReport.ScoreSummary.of(normalised, keep), o.parametersRemoved()));
                LOG.log(System.Logger.Level.DEBUG, () -> ID + ": " + l.name() + " " + l.hiddenWidth() + " -> " + target);
            }
        }
        ModelStats after = toPrune.isEmpty() ? before : ModelStats.of(model);
        PruneReport report = new PruneReport(ID, importance.name(), pruned, unchanged, refused, before.parameterCount(),
                after.parameterCount(), before.totalMacs(), after.totalMacs());
        LOG.log(System.Logger.Level.INFO, () -> ID + ": " + pruned.size() + " FFN layer(s) pruned to ratio "
                + options.ratio() + " with " + importance.name() + " importance, " + refused.size() + " refused; params "
                + before.parameterCount() + " -> " + report.parametersAfter());
        return report;
    }

    /**
     * @param scores one score per channel
     * @param count how many to keep
     * @return the indices of the {@code count} highest scores (ties to the lower index), ascending
     */
    static int[] topIndices(double[] scores, int count) {
        return IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -scores[i]).thenComparingInt(i -> i))
                .limit(count).mapToInt(Integer::intValue).sorted().toArray();
    }
}
