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
import java.util.Arrays;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.stream.IntStream;

/**
 * Parameter reallocation: shrinks the model to a fraction of its params (or MACs) by removing the
 * globally least important units across every prunable group, so that the widths follow the
 * scores instead of one ratio per kind: the EfficientViT paper's finding, made automatic.
 *
 * <p>The groups are FFN hidden units, per-head Q/K dims and conv channels ({@link PruneSites}); V
 * and the output projection are never candidates, so Q/K narrow while V stays, and late stages
 * shrink before early ones where their scores are lower. Scores are computed once, on the
 * unpruned model. A Taylor score estimates the loss a unit's removal adds, so raw scores compare
 * across layers (default normalization {@code none}; {@code max} or {@code sum} rescale each
 * group); units go in ascending order of score per unit of cost ({@link GlobalAllocation}), the
 * cost being the params (or MACs) the unit removes, measured. Each group keeps at least
 * {@code ⌈minFraction · width⌉} units; FFN, conv and embedding widths stay multiples of
 * {@code roundTo} (Q/K dims are not rounded: a head dim is small) because their units are ranked
 * in blocks of {@code roundTo}, each block the lowest-scoring units left ({@link Blocks}).
 *
 * <p>How the target is reached: {@link GlobalAllocation} turns "remove the {@code k} least
 * important units" into per-group widths, and the pass searches the smallest {@code k} whose
 * pruned model, recounted by {@link ModelStats}, is within the target. The recount, not an
 * estimate, decides: in a conv chain the params a channel removes depend on how far its
 * neighbour shrank. Each step prunes a copy; the model is changed once, at the end, and only
 * when something is pruned. A target the minimum widths cannot reach is refused before any change.
 */
public final class ReallocatePass extends PruningPass {
    /** The pass id. */
    public static final String ID = "prune-reallocate";

    private static final System.Logger LOG = System.getLogger(ReallocatePass.class.getName());

    /** What the target fraction counts. */
    public enum Target {
        /** Parameters: every initializer element. */
        PARAMS,
        /** Multiply-accumulates at batch 1. */
        MACS;

        long of(ModelStats stats) {
            return this == PARAMS ? stats.parameterCount() : stats.totalMacs();
        }

        String label() {
            return this == PARAMS ? "params" : "MACs";
        }
    }

    /**
     * @param target what the fraction counts
     * @param fraction the model keeps this fraction of its params or MACs, in (0, 1]
     * @param criterion how units are scored
     * @param norm for magnitude: L1 or L2
     * @param roundTo FFN and conv widths are multiples of this, at least 1
     * @param minFraction every group keeps at least this fraction of its width, in (0, 1]
     * @param seed the seed of random importance
     * @param data calibration batches for Taylor; may be null for the other criteria
     * @param calibBatches Taylor batches read, 0 for all
     * @param normalization how scores are normalised per group before the global ranking
     * @param uniform rank units within their group only (each score becomes its percentile), so
     *     every group loses the same fraction: plain uniform pruning to the target, the baseline
     *     reallocation is measured against
     */
    public record Options(Target target, double fraction, FfnRatioPass.Criterion criterion,
                          MagnitudeImportance.Norm norm, int roundTo, double minFraction, long seed,
                          ImportanceData data, int calibBatches, ScoreNormalization normalization, boolean uniform,
                          boolean embedDim) {
        /** @throws IllegalArgumentException for a bad value, naming it */
        public Options {
            Objects.requireNonNull(target, "target");
            if (!(fraction > 0 && fraction <= 1)) {
                throw new IllegalArgumentException("target fraction must be in (0, 1], got " + fraction);
            }
            if (!(minFraction > 0 && minFraction <= 1)) {
                throw new IllegalArgumentException("min-width must be a fraction in (0, 1], got " + minFraction);
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
         * @param target what the fraction counts
         * @param fraction the fraction kept
         * @param criterion the importance
         * @return L1 magnitude norm, round to 8, min width 1/8, seed 0, no data, all batches, no
         *     normalization, global ranking
         */
        public static Options of(Target target, double fraction, FfnRatioPass.Criterion criterion) {
            return new Options(target, fraction, criterion, MagnitudeImportance.Norm.L1, 8, 0.125, 0, null, 0,
                    ScoreNormalization.NONE, false, false);
        }

        /** @return these options with calibration data */
        public Options withData(ImportanceData newData, int batches) {
            return new Options(target, fraction, criterion, norm, roundTo, minFraction, seed, newData, batches,
                    normalization, uniform, embedDim);
        }

        /** @return these options rounding to another multiple */
        public Options withRoundTo(int multiple) {
            return new Options(target, fraction, criterion, norm, multiple, minFraction, seed, data, calibBatches,
                    normalization, uniform, embedDim);
        }

        /** @return these options with another seed */
        public Options withSeed(long newSeed) {
            return new Options(target, fraction, criterion, norm, roundTo, minFraction, newSeed, data, calibBatches,
                    normalization, uniform, embedDim);
        }

        /** @return these options with another per-group normalization */
        public Options withNormalization(ScoreNormalization n) {
            return new Options(target, fraction, criterion, norm, roundTo, minFraction, seed, data, calibBatches, n,
                    uniform, embedDim);
        }

        /** @return these options with every group losing the same fraction (no global ranking) */
        public Options withUniform(boolean u) {
            return new Options(target, fraction, criterion, norm, roundTo, minFraction, seed, data, calibBatches,
                    normalization, u, embedDim);
        }

        /** @return these options ranking the residual streams' widths too, or not */
        public Options withEmbedDim(boolean e) {
            return new Options(target, fraction, criterion, norm, roundTo, minFraction, seed, data, calibBatches,
                    normalization, uniform, e);
        }

        /** @return these options with another minimum width fraction */
        public Options withMinFraction(double f) {
            return new Options(target, fraction, criterion, norm, roundTo, f, seed, data, calibBatches,
                    normalization, uniform, embedDim);
        }

        AttentionPruning.Options asAttentionOptions() {
            return new AttentionPruning.Options(1, criterion, norm, seed, data, calibBatches, normalization);
        }

        static Options parse(PassOptions o, ImportanceData data) {
            AttentionPruning.Options common = AttentionPruning.Options.parse(ID, "round-to", o, data);
            String t = o.string("target").strip().toUpperCase(Locale.ROOT);
            if (!t.equals("PARAMS") && !t.equals("MACS")) {
                throw new IllegalArgumentException("pass " + ID + " option target: '" + o.string("target")
                        + "' is not params or macs");
            }
            return new Options(Target.valueOf(t), o.doubleValue("fraction"), common.criterion(), common.norm(),
                    common.keep(), o.doubleValue("min-width"), common.seed(), data, common.calibBatches(),
                    common.normalization(), o.booleanValue("uniform"), o.booleanValue("embed-dim"));
        }
    }

    private static final List<PassOption> OPTIONS;

    static {
        List<PassOption> o = new ArrayList<>();
        o.add(new PassOption("target", "what the fraction counts: params or macs", "params"));
        o.add(new PassOption("fraction", "the model keeps this fraction of its params (or MACs), in (0, 1]", "0.5"));
        o.add(new PassOption("min-width", "every group keeps at least this fraction of its width", "0.125"));
        o.add(new PassOption("round-to", "FFN and conv widths are multiples of this", "8"));
        o.add(new PassOption("embed-dim", "true: the residual streams' widths are ranked too (they couple every "
                + "block)", "false"));
        o.add(new PassOption("uniform", "true: every group loses the same fraction (no global ranking)", "false"));
        for (PassOption common : AttentionPruning.COMMON_OPTIONS) {
            o.add(!common.name().equals("normalization") ? common : new PassOption("normalization",
                    "how each group's scores are scaled before the global ranking: none (Taylor scores are loss "
                            + "estimates, comparable across layers), max or sum", "none"));
        }
        OPTIONS = List.copyOf(o);
    }

    /** How the CLI and recipes find this pass; without data, Taylor importance refuses (see {@link #descriptor}). */
    public static final PassDescriptor DESCRIPTOR = describe(null);

    private final Options options;

    /** @param options the target, the criterion and its data */
    public ReallocatePass(Options options) {
        super(ID, "groups narrowed", "units removed");
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
        return new PassDescriptor(ID, "shrink the model to a fraction of its params or MACs by removing the globally "
                + "least important FFN units, Q/K dims and conv channels", false, OPTIONS,
                o -> new ReallocatePass(Options.parse(o, data)));
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
     * A group's units in blocks of {@code size}, lowest scores first, so that a width rounded to a
     * multiple is what the ranking removes: the first block holds the remainder
     * ({@code width mod size}, or a whole block), the others {@code size} units each.
     *
     * @param width the group's units
     * @param size units per block, at least 1
     */
    record Blocks(int width, int size) {
        int count() {
            return (width + size - 1) / size;
        }

        private int first() {
            return width % size == 0 ? size : width % size;
        }

        /** @return per block, the sum of its units' scores, blocks in ascending order of score */
        double[] scores(double[] unitScores) {
            double[] sorted = unitScores.clone();
            Arrays.sort(sorted);
            double[] out = new double[count()];
            for (int u = 0; u < sorted.length; u++) {
                out[u < first() ? 0 : 1 + (u - first()) / size] += sorted[u];
            }
            return out;
        }

        /** @return the units kept when {@code kept} of the blocks stay (the highest-scoring ones) */
        int width(int kept) {
            int removed = count() - kept;
            return removed == 0 ? width : width - first() - (removed - 1) * size;
        }

        /** @return how many blocks a width keeps */
        int kept(int units) {
            int k = count();
            while (k > 0 && width(k) > units) {
                k--;
            }
            return k;
        }

        /** @return the fewest blocks that keep at least {@code minUnits} units */
        int minBlocks(int minUnits) {
            int k = 1;
            while (k < count() && width(k) < minUnits) {
                k++;
            }
            return k;
        }
    }

    /** The scored sites of a model and how to prune them to a global cut. */
    private record Ranking(Model trial, List<PruneSites.Site> sites, List<double[]> scores, List<Blocks> blocks,
                           List<GlobalAllocation.Candidate> candidates) {
        /** @return per site, the width kept when the least important blocks worth {@code cost} go */
        int[] widths(long cost) {
            List<int[]> kept = GlobalAllocation.plan(candidates, cost);
            int[] w = new int[sites.size()];
            for (int i = 0; i < w.length; i++) {
                w[i] = blocks.get(i).width(kept.get(i).length);
            }
            return w;
        }

        /** @return a copy of the trial model pruned to the widths, with each pruned group's outcome */
        Model apply(int[] widths, List<ChannelPruner.Outcome> outcomes) {
            return pruneCopy(trial, sites, scores, widths, outcomes);
        }
    }

    /**
     * @param trial the model the sites were found in
     * @param sites the sites, in order
     * @param scores per site, scores (any order-preserving scale)
     * @param widths per site, the width kept
     * @param outcomes receives each pruned group's outcome, or null
     * @return a pruned copy of {@code trial}; the trial is unchanged
     */
    private static Model pruneCopy(Model trial, List<PruneSites.Site> sites, List<double[]> scores, int[] widths,
                                   List<ChannelPruner.Outcome> outcomes) {
        Model m = trial.copy();
        Map<String, Value> values = m.graph().valuesByName();
        for (int i = 0; i < widths.length; i++) {
            PruneSites.Site s = sites.get(i);
            if (widths[i] < s.width()) {
                ChannelGroup g = PruneSites.regroup(m, values, s);
                ChannelPruner.Outcome o = ChannelPruner.prune(m, g, FfnRatioPass.topIndices(scores.get(i), widths[i]));
                if (outcomes != null) {
                    outcomes.add(o);
                }
                values = m.graph().valuesByName();
            }
        }
        return m;
    }

    /**
     * Runs the pass and reports in detail.
     *
     * @param model the model, pruned in place
     * @param context seed and runtime for Taylor importance
     * @return every group narrowed with its widths before → after, the groups left at full width,
     *     those refused, and params and MACs before and after
     * @throws PassRefusedException before any change: nothing prunable, a target the minimum
     *     widths cannot reach, or Taylor importance without data or gradients
     */
    @Override
    PruneReport pruneInPlace(Model model, PassContext context) {
        ModelStats before = ModelStats.of(model);
        long goal = (long) Math.floor(options.fraction() * options.target().of(before));
        Importance importance = options.asAttentionOptions().importance();
        if (options.target().of(before) <= goal) {
            return new PruneReport(ID, importance.name(), List.of(), List.of(), List.of(),
                    before.parameterCount(), before.parameterCount(), before.totalMacs(), before.totalMacs());
        }
        Model trial = model.copy();
        FusedProjections.split(trial);
        PruneSites.Found found = PruneSites.find(trial, options.embedDim()
                ? EnumSet.allOf(PruneSites.Kind.class) : EnumSet.complementOf(EnumSet.of(PruneSites.Kind.EMBED)));
        if (found.sites().isEmpty()) {
            throw new PassRefusedException(ID, "the model has no prunable FFN, Q/K or conv channel group"
                    + (found.refused().isEmpty() ? "" : " (" + found.refused().size() + " refused, first: "
                    + found.refused().get(0).name() + ": " + found.refused().get(0).reason() + ")"));
        }
        Ranking ranking = rank(trial, found, importance, context);
        long removable = GlobalAllocation.removableCost(ranking.candidates());
        Model lowest = ranking.apply(ranking.widths(removable), null);
        long floor = options.target().of(ModelStats.of(lowest));
        if (floor > goal) {
            throw new PassRefusedException(ID, String.format(Locale.ROOT, "%s %.3g of the model (%,d) cannot be "
                    + "reached: with every group at its minimum width (min-width %s) the model keeps %,d (%.3g)",
                    options.target().label(), options.fraction(), goal, options.minFraction(), floor,
                    floor / (double) options.target().of(before)));
        }
        // the smallest cost to remove whose pruned model, recounted, is within the goal
        long lo = 0;
        long hi = removable;
        while (hi - lo > 1) {
            long mid = lo + (hi - lo) / 2;
            if (options.target().of(ModelStats.of(ranking.apply(ranking.widths(mid), null))) <= goal) {
                hi = mid;
            } else {
                lo = mid;
            }
            long l = lo;
            long h = hi;
            LOG.log(System.Logger.Level.DEBUG, () -> ID + ": cost to remove in [" + l + ", " + h + "]");
        }
        int[] widths = refill(ranking, ranking.widths(hi), goal);
        List<ChannelPruner.Outcome> outcomes = new ArrayList<>();
        Model pruned = ranking.apply(widths, outcomes);
        model.setGraph(pruned.graph());
        ModelStats after = ModelStats.of(model);
        PruneReport report = report(ranking, found, widths, outcomes, importance, before, after);
        LOG.log(System.Logger.Level.INFO, () -> String.format(Locale.ROOT, "%s: %d of %d groups narrowed with %s "
                + "importance; %s %,d -> %,d (goal %,d)", ID, report.pruned().size(), widths.length,
                importance.name(), options.target().label(), options.target().of(before), options.target().of(after),
                goal));
        return report;
    }

    /**
     * Gives back blocks the search removed while the model stays within the goal, most important
     * per cost first, each group at most one block: the search stops at the first cut within the
     * goal, which can fall short of it by up to a block of the coarsest group (an embedding
     * channel block removes a row from every layer).
     */
    private int[] refill(Ranking ranking, int[] widths, long goal) {
        long now = options.target().of(ModelStats.of(ranking.apply(widths, null)));
        record Next(int site, double value, long cost) {
        }
        List<Next> next = new ArrayList<>();
        for (int i = 0; i < widths.length; i++) {
            Blocks b = ranking.blocks().get(i);
            GlobalAllocation.Candidate c = ranking.candidates().get(i);
            int removed = b.count() - b.kept(widths[i]);
            if (removed > 0) {
                next.add(new Next(i, c.scores()[removed - 1] / c.unitCost(), c.unitCost()));
            }
        }
        next.sort(Comparator.comparingDouble(Next::value).reversed());
        int[] out = widths.clone();
        for (Next n : next) {
            if (n.cost() > goal - now) {
                continue;
            }
            Blocks b = ranking.blocks().get(n.site());
            int[] trial = out.clone();
            trial[n.site()] = b.width(b.kept(out[n.site()]) + 1);
            long cost = options.target().of(ModelStats.of(ranking.apply(trial, null)));
            if (cost <= goal) {
                out = trial;
                now = cost;
            }
        }
        return out;
    }

    private Ranking rank(Model trial, PruneSites.Found found, Importance importance, PassContext context) {
        List<double[]> raw;
        try {
            raw = importance.scores(trial, found.groups(), context);
        } catch (NotDifferentiableException | IllegalArgumentException e) {
            throw new PassRefusedException(ID, importance.name() + " importance cannot score this model: "
                    + e.getMessage());
        }
        List<PruneSites.Site> sites = found.sites();
        long whole = options.target().of(ModelStats.of(trial));
        List<double[]> normalised = new ArrayList<>();
        List<Blocks> blocks = new ArrayList<>();
        List<GlobalAllocation.Candidate> candidates = new ArrayList<>();
        for (int i = 0; i < sites.size(); i++) {
            PruneSites.Site s = sites.get(i);
            double[] n = options.uniform() ? percentiles(raw.get(i)) : options.normalization().apply(raw.get(i));
            normalised.add(n);
            // NOTE: one unit's cost, measured by pruning it alone; with its neighbours pruned too it
            // can be less (a conv chain), which the search to the target recounts
            int[] widths = new int[sites.size()];
            for (int j = 0; j < widths.length; j++) {
                widths[j] = j == i ? s.width() - 1 : sites.get(j).width();
            }
            long cost = s.width() < 2 ? 0
                    : whole - options.target().of(ModelStats.of(pruneCopy(trial, sites, raw, widths, null)));
            // NOTE: Q/K dims are not rounded: a head dim is small, and its units cost several heads' worth
            Blocks b = new Blocks(s.width(), s.kind() == PruneSites.Kind.QK ? 1 : Math.min(options.roundTo(), s.width()));
            blocks.add(b);
            int min = cost > 0 ? GlobalAllocation.minWidth(s.width(), options.minFraction(), b.size()) : s.width();
            // NOTE: uniform pruning ranks by percentile alone (a block's cost is its units), so every
            // group loses the same fraction
            long blockCost = (long) b.size() * (options.uniform() ? 1 : Math.max(cost, 1));
            candidates.add(new GlobalAllocation.Candidate(s.label(), b.scores(n), blockCost, b.minBlocks(min)));
        }
        return new Ranking(trial, sites, normalised, blocks, candidates);
    }

    /** @return each score's rank within its group over the group's width, in (0, 1]; ties by index */
    static double[] percentiles(double[] scores) {
        Integer[] byScore = IntStream.range(0, scores.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> scores[i]).thenComparingInt(i -> -i))
                .toArray(Integer[]::new);
        double[] p = new double[scores.length];
        for (int r = 0; r < byScore.length; r++) {
            p[byScore[r]] = (r + 1) / (double) scores.length;
        }
        return p;
    }

    private static PruneReport report(Ranking ranking, PruneSites.Found found, int[] widths,
                                      List<ChannelPruner.Outcome> outcomes, Importance importance, ModelStats before,
                                      ModelStats after) {
        List<PruneReport.Group> pruned = new ArrayList<>();
        List<String> unchanged = new ArrayList<>();
        int o = 0;
        for (int i = 0; i < widths.length; i++) {
            PruneSites.Site s = ranking.sites().get(i);
            if (widths[i] < s.width()) {
                int[] keep = FfnRatioPass.topIndices(ranking.scores().get(i), widths[i]);
                pruned.add(new PruneReport.Group(s.label(), s.inputWidth(), s.width(), widths[i], keep,
                        PruneReport.ScoreSummary.of(ranking.scores().get(i), keep), outcomes.get(o++).parametersRemoved()));
            } else {
                unchanged.add(s.label());
            }
        }
        return new PruneReport(ID, importance.name(), pruned, unchanged, found.refused(), before.parameterCount(),
                after.parameterCount(), before.totalMacs(), after.totalMacs());
    }
}
