package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassOptions;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.autodiff.NotDifferentiableException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Prunes a fraction of the channels of the convolutional parts of a model: MobileNetV2 hidden
 * channels of MobileViT, EfficientViT's subsampling and conv FFN channels, DETR's backbone.
 *
 * <p>Every Conv with {@code group = 1} and a constant weight seeds the group of its output
 * channels ({@link ChannelDependencies}); the group runs through folded BatchNorms, activations,
 * depthwise Convs (their {@code group} rewritten) to the Convs that contract it. Each group keeps
 * {@code (1 − F)·C} channels rounded to a multiple of {@code roundTo} (at least one multiple, never
 * more than it had), the most important ones.
 *
 * <p>When it does not fire, with the reason in {@link PruneReport#refused()}: a group the analysis
 * refuses (it reaches a LayerNormalization's normalised axis, a graph output, a grouped Conv, a
 * Reshape it cannot follow); a group that reaches the residual stream (an Add of two activations:
 * removing a channel there would remove it from every block the stream runs through, which is
 * embedding-width pruning, not this pass); a group that reaches an attention product (a MatMul of
 * two activations: that is {@code prune-qk} / {@code prune-heads}). A conv weight whose output
 * channels are already in an earlier group (a depthwise Conv's, a shared weight's) is not seeded
 * again.
 *
 * <p>NOTE: unlike the other pruning passes, a second run prunes again (F of what is left): a
 * fraction has no fixed point, and the model does not record its own unpruned widths.
 */
public final class ConvChannelsPass extends PruningPass {
    /** The pass id. */
    public static final String ID = "prune-channels";

    private static final System.Logger LOG = System.getLogger(ConvChannelsPass.class.getName());

    /**
     * @param fraction F, the fraction of each group's channels removed, in (0, 1)
     * @param criterion how channels are scored
     * @param norm for magnitude: L1 or L2
     * @param roundTo kept widths are multiples of this, at least 1
     * @param seed the seed of random importance
     * @param data calibration batches for Taylor; may be null for the other criteria
     * @param calibBatches Taylor batches read, 0 for all
     * @param normalization how scores are normalised per group in the report
     */
    public record Options(double fraction, FfnRatioPass.Criterion criterion, MagnitudeImportance.Norm norm, int roundTo,
                          long seed, ImportanceData data, int calibBatches, ScoreNormalization normalization) {
        /** @throws IllegalArgumentException for a bad value, naming it */
        public Options {
            if (!(fraction > 0 && fraction < 1)) {
                throw new IllegalArgumentException("fraction must be in (0, 1), got " + fraction);
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
         * @param fraction F
         * @param criterion the importance
         * @return L1 magnitude norm, round to 1, seed 0, no data, all batches, max normalization
         */
        public static Options of(double fraction, FfnRatioPass.Criterion criterion) {
            return new Options(fraction, criterion, MagnitudeImportance.Norm.L1, 1, 0, null, 0, ScoreNormalization.MAX);
        }

        /** @return these options with calibration data */
        public Options withData(ImportanceData newData, int batches) {
            return new Options(fraction, criterion, norm, roundTo, seed, newData, batches, normalization);
        }

        /** @return these options rounding to another multiple */
        public Options withRoundTo(int multiple) {
            return new Options(fraction, criterion, norm, multiple, seed, data, calibBatches, normalization);
        }

        /** @return these options with another seed */
        public Options withSeed(long newSeed) {
            return new Options(fraction, criterion, norm, roundTo, newSeed, data, calibBatches, normalization);
        }

        /**
         * @param width channels of a group
         * @return the channels it keeps ({@code width} when it stays)
         */
        public int targetWidth(int width) {
            long t = Math.round(width * (1 - fraction) / roundTo) * roundTo;
            t = Math.max(t, Math.min(roundTo, width));
            return (int) Math.min(Math.max(t, 1), width);
        }

        AttentionPruning.Options asAttentionOptions() {
            return new AttentionPruning.Options(1, criterion, norm, seed, data, calibBatches, normalization);
        }

        static Options parse(PassOptions o, ImportanceData data) {
            AttentionPruning.Options common = AttentionPruning.Options.parse(ID, "round-to", o, data);
            return new Options(o.doubleValue("fraction"), common.criterion(), common.norm(), common.keep(),
                    common.seed(), data, common.calibBatches(), common.normalization());
        }
    }

    private static final List<PassOption> OPTIONS;

    static {
        List<PassOption> o = new ArrayList<>();
        o.add(new PassOption("fraction", "fraction of each conv channel group removed, in (0, 1)", "0.25"));
        o.add(new PassOption("round-to", "kept widths are multiples of this", "1"));
        o.addAll(AttentionPruning.COMMON_OPTIONS);
        OPTIONS = List.copyOf(o);
    }

    /** How the CLI and recipes find this pass; without data, Taylor importance refuses (see {@link #descriptor}). */
    public static final PassDescriptor DESCRIPTOR = describe(null);

    private final Options options;

    /** @param options the fraction, the criterion and its data */
    public ConvChannelsPass(Options options) {
        super(ID, "conv channel groups pruned", "channels removed");
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
        return new PassDescriptor(ID, "prune a fraction of the channels of every conv channel group that stays off "
                + "the residual stream", false, OPTIONS, o -> new ConvChannelsPass(Options.parse(o, data)));
    }


    /** @return the options */
    public Options options() {
        return options;
    }

    @Override
    public void requires(Model model) {
        AttentionPruning.requires(ID, options.asAttentionOptions(), model);
    }



    /**
     * Runs the pass and reports in detail.
     *
     * @param model the model, pruned in place
     * @param context seed and runtime for Taylor importance
     * @return what was pruned, refused and left, with params and MACs before and after
     * @throws PassRefusedException before any change, when Taylor importance has no data or gradients
     */
    @Override
    PruneReport pruneInPlace(Model model, PassContext context) {
        List<String> names = new ArrayList<>();
        List<Integer> inputWidths = new ArrayList<>();
        List<ChannelGroup> groups = new ArrayList<>();
        List<Value> seeds = new ArrayList<>();
        List<String> unchanged = new ArrayList<>();
        List<PruneReport.Refusal> refused = new ArrayList<>();
        Set<Value> claimed = Collections.newSetFromMap(new IdentityHashMap<>());
        for (PruneSites.ConvGroup c : PruneSites.convGroups(new ChannelDependencies(model), claimed)) {
            if (c.refusal() != null) {
                refused.add(new PruneReport.Refusal(c.name(), c.refusal()));
                LOG.log(System.Logger.Level.DEBUG, () -> ID + ": " + c.name() + " left alone: " + c.refusal());
            } else if (options.targetWidth(c.group().width()) < c.group().width()) {
                names.add(c.name());
                inputWidths.add(c.inputWidth());
                groups.add(c.group());
                seeds.add(c.weight());
            } else {
                unchanged.add(c.name());
            }
        }
        Importance importance = options.asAttentionOptions().importance();
        ModelStats before = ModelStats.of(model);
        List<PruneReport.Group> pruned = new ArrayList<>();
        if (!groups.isEmpty()) {
            List<double[]> scores;
            try {
                scores = importance.scores(model, groups, context);
            } catch (NotDifferentiableException | IllegalArgumentException e) {
                throw new PassRefusedException(ID, importance.name() + " importance cannot score this model: "
                        + e.getMessage());
            }
            for (int k = 0; k < groups.size(); k++) {
                // NOTE: groups may share a tensor on different axes or offsets (a Conv whose input
                // channels are one group and output channels another, a Concat), so each group is
                // found again on the model as the groups before it left it; its channels and scores
                // are the same
                ChannelGroup g = new ChannelDependencies(model).groupOf(seeds.get(k), 0);
                if (!g.isPrunable() || g.width() != groups.get(k).width()) {
                    throw new IllegalStateException("the group of " + names.get(k) + " changed when an earlier "
                            + "group was pruned: " + g);
                }
                int target = options.targetWidth(g.width());
                int[] keep = FfnRatioPass.topIndices(scores.get(k), target);
                ChannelPruner.Outcome o = ChannelPruner.prune(model, g, keep);
                pruned.add(new PruneReport.Group(names.get(k), inputWidths.get(k), g.width(), target, keep,
                        PruneReport.ScoreSummary.of(options.normalization().apply(scores.get(k)), keep),
                        o.parametersRemoved()));
            }
        }
        ModelStats after = pruned.isEmpty() ? before : ModelStats.of(model);
        PruneReport report = new PruneReport(ID, importance.name(), pruned, unchanged, refused, before.parameterCount(),
                after.parameterCount(), before.totalMacs(), after.totalMacs());
        LOG.log(System.Logger.Level.INFO, () -> ID + ": " + pruned.size() + " conv channel group(s) pruned by "
                + options.fraction() + " with " + importance.name() + " importance, " + refused.size()
                + " left alone; params " + before.parameterCount() + " -> " + report.parametersAfter());
        return report;
    }
}
