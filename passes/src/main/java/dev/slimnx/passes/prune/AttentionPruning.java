package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassOptions;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.autodiff.NotDifferentiableException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;

/**
 * What {@link QkDimPass} and {@link HeadPass} share: one channel group per attention product
 * (found on the model with its fused Q/K/V projections split, {@link FusedProjections}), a target
 * width, importance scores computed once on the unpruned model, and the report.
 *
 * <p>The model is only changed when at least one group is pruned: the analysis runs first on a
 * copy, so a model whose groups are all refused or already at the target stays byte for byte as
 * it was (fused projections included).
 */
final class AttentionPruning {
    private static final System.Logger LOG = System.getLogger(AttentionPruning.class.getName());

    private AttentionPruning() {
    }

    /**
     * The options both passes take.
     *
     * @param keep the width kept per layer: the per-head Q/K dim, or the heads; at least 1
     * @param criterion how channels are scored
     * @param norm for magnitude: L1 or L2
     * @param seed the seed of random importance
     * @param data calibration batches for Taylor; may be null for the other criteria
     * @param calibBatches Taylor batches read, 0 for all
     * @param normalization how scores are normalised per layer in the report
     */
    record Options(int keep, FfnRatioPass.Criterion criterion, MagnitudeImportance.Norm norm, long seed,
                   ImportanceData data, int calibBatches, ScoreNormalization normalization) {
        Options {
            Objects.requireNonNull(criterion, "criterion");
            Objects.requireNonNull(norm, "norm");
            Objects.requireNonNull(normalization, "normalization");
            if (calibBatches < 0) {
                throw new IllegalArgumentException("calib-batches must be 0 (all) or more, got " + calibBatches);
            }
        }

        Importance importance() {
            return switch (criterion) {
                case TAYLOR -> new TaylorImportance(Objects.requireNonNull(data, "Taylor importance needs data"),
                        TaylorImportance.Options.defaults().withMaxBatches(calibBatches));
                case MAGNITUDE -> new MagnitudeImportance(norm);
                case RANDOM -> new RandomImportance(seed);
            };
        }

        static Options parse(String passId, String keepOption, PassOptions o, ImportanceData data) {
            long keep = o.longValue(keepOption);
            long batches = o.longValue("calib-batches");
            if (keep < 1 || keep > Integer.MAX_VALUE || batches > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("pass " + passId + ": " + keepOption + " must be at least 1, got "
                        + keep);
            }
            String norm = o.string("norm").strip().toUpperCase(Locale.ROOT);
            if (!norm.equals("L1") && !norm.equals("L2")) {
                throw new IllegalArgumentException("pass " + passId + " option norm: '" + o.string("norm")
                        + "' is not l1 or l2");
            }
            return new Options((int) keep, FfnRatioPass.Criterion.parse(o.string("importance")),
                    MagnitudeImportance.Norm.valueOf(norm), o.longValue("seed"), data, (int) batches,
                    ScoreNormalization.parse(o.string("normalization")));
        }
    }

    /** The importance options both passes list after their own. */
    static final List<PassOption> COMMON_OPTIONS = List.of(
            new PassOption("importance", "how channels are ranked: taylor (needs calibration data), magnitude or random",
                    "taylor"),
            new PassOption("norm", "for magnitude importance: l1 or l2", "l1"),
            new PassOption("seed", "seed of random importance", "0"),
            new PassOption("calib-batches", "Taylor: calibration batches read, 0 for all", "0"),
            new PassOption("normalization", "per-layer score normalization in the report: max, sum or none", "max"));

    /** How a pass turns an attention product into the group it prunes. */
    interface Grouping {
        /**
         * @param layer the attention product
         * @param deps the analysis of the model
         * @return the group, or null with {@code refusal[0]} set when the layer cannot be pruned
         */
        ChannelGroup groupOf(AttentionLayer layer, ChannelDependencies deps, String[] refusal);

        /** @return the current width of the layer (the per-head dim or the heads) */
        int width(AttentionLayer layer);

        /** @return the report's input width of a layer */
        int inputWidth(AttentionLayer layer);
    }

    private record Plan(List<AttentionLayer> toPrune, List<ChannelGroup> groups, List<String> unchanged,
                        List<PruneReport.Refusal> refused) {
    }

    static void requires(String passId, Options options, Model model) {
        if (options.criterion() == FfnRatioPass.Criterion.TAYLOR) {
            if (options.data() == null) {
                throw new PassRefusedException(passId, "Taylor importance needs calibration data (build the pass with "
                        + "its descriptor(data), or choose importance magnitude or random)");
            }
            long opset = model.opsetVersion("");
            if (opset < 13) {
                throw new PassRefusedException(passId, "Taylor importance needs default-domain opset 13 or more for its "
                        + "gradients; the model imports " + (opset < 0 ? "none" : opset));
            }
        }
    }

    private static Plan plan(String passId, Model model, Options options, Grouping grouping) {
        List<AttentionLayer> layers = AttentionFinder.find(model);
        if (layers.isEmpty()) {
            throw new PassRefusedException(passId, "the model has no attention product softmax(Q·Kᵀ) (separable "
                    + "attention, as in MobileViTv2, scores tokens with a d → 1 projection and has no Q/K heads)");
        }
        ChannelDependencies deps = new ChannelDependencies(model);
        Set<Value> claimed = Collections.newSetFromMap(new IdentityHashMap<>());
        List<AttentionLayer> toPrune = new ArrayList<>();
        List<ChannelGroup> groups = new ArrayList<>();
        List<String> unchanged = new ArrayList<>();
        List<PruneReport.Refusal> refused = new ArrayList<>();
        for (AttentionLayer l : layers) {
            if (claimed.contains(l.scores().input(0))) {
                continue; // NOTE: a product whose Q/K weights another product shares (MemViT) is pruned with it
            }
            String[] why = new String[1];
            ChannelGroup g = grouping.groupOf(l, deps, why);
            if (g == null || !g.isPrunable()) {
                String reason = g == null ? why[0] : g.refusal();
                refused.add(new PruneReport.Refusal(l.name(), reason));
                LOG.log(System.Logger.Level.DEBUG, () -> passId + ": " + l.name() + " refused: " + reason);
                continue;
            }
            for (ChannelMember m : g.members()) {
                claimed.add(m.value());
            }
            if (Math.min(options.keep(), grouping.width(l)) < grouping.width(l)) {
                toPrune.add(l);
                groups.add(g);
            } else {
                unchanged.add(l.name());
            }
        }
        return new Plan(toPrune, groups, unchanged, refused);
    }

    static PruneReport prune(String passId, Model model, PassContext context, Options options, Grouping grouping) {
        requires(passId, options, model);
        Importance importance = options.importance();
        ModelStats before = ModelStats.of(model);
        Model trial = model.copy();
        FusedProjections.split(trial);
        Plan plan = plan(passId, trial, options, grouping);
        List<PruneReport.Group> pruned = new ArrayList<>();
        if (!plan.toPrune().isEmpty()) {
            // NOTE: scored on the copy, so a criterion that refuses (no backward rule) leaves the model
            // as it was; the same split of the model gives the same groups in the same order
            List<double[]> scores;
            try {
                scores = importance.scores(trial, plan.groups(), context);
            } catch (NotDifferentiableException | IllegalArgumentException e) {
                throw new PassRefusedException(passId, importance.name() + " importance cannot score this model: "
                        + e.getMessage());
            }
            List<String> scored = plan.toPrune().stream().map(AttentionLayer::name).toList();
            FusedProjections.split(model);
            plan = plan(passId, model, options, grouping);
            if (!scored.equals(plan.toPrune().stream().map(AttentionLayer::name).toList())) {
                throw new IllegalStateException("the model's attention layers " + plan.toPrune() + " are not those of "
                        + "its copy " + scored);
            }
            for (int k = 0; k < plan.toPrune().size(); k++) {
                AttentionLayer l = plan.toPrune().get(k);
                ChannelGroup g = plan.groups().get(k);
                int target = Math.min(options.keep(), g.width());
                double[] s = scores.get(k);
                int[] keep = FfnRatioPass.topIndices(s, target);
                ChannelPruner.Outcome o = ChannelPruner.prune(model, g, keep);
                pruned.add(new PruneReport.Group(l.name(), grouping.inputWidth(l), g.width(), target, keep,
                        PruneReport.ScoreSummary.of(options.normalization().apply(s), keep), o.parametersRemoved()));
                LOG.log(System.Logger.Level.DEBUG, () -> passId + ": " + l.name() + " " + g.width() + " -> " + target);
            }
        }
        ModelStats after = pruned.isEmpty() ? before : ModelStats.of(model);
        PruneReport report = new PruneReport(passId, importance.name(), pruned, plan.unchanged(), plan.refused(),
                before.parameterCount(), after.parameterCount(), before.totalMacs(), after.totalMacs());
        LOG.log(System.Logger.Level.INFO, () -> passId + ": " + pruned.size() + " attention layer(s) pruned to "
                + options.keep() + " with " + importance.name() + " importance, " + report.refused().size()
                + " refused; params " + before.parameterCount() + " -> " + report.parametersAfter());
        return report;
    }
}
