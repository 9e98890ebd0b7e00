package dev.slimnx.passes.prune;

import java.util.List;

/**
 * What a pruning pass did: the groups it pruned with their widths and scores, the groups it could
 * not prune and why, and the model's parameters and MACs before and after (from
 * {@link dev.slimnx.graph.stats.ModelStats}: every initializer element; MACs at batch 1).
 *
 * @param pass the pass id
 * @param importance the criterion's name
 * @param pruned the groups pruned, in graph order
 * @param unchanged groups that were prunable but already at (or below) their target width
 * @param refused groups that could not be pruned, with the reason
 * @param parametersBefore parameters before
 * @param parametersAfter parameters after
 * @param macsBefore MACs before
 * @param macsAfter MACs after
 */
public record PruneReport(String pass, String importance, List<Group> pruned, List<String> unchanged,
                          List<Refusal> refused, long parametersBefore, long parametersAfter, long macsBefore,
                          long macsAfter) {
    /** Refusals {@link #summary} lists before it only counts the rest. */
    static final int SHOWN_REFUSALS = 5;

    /** Copies the lists. */
    public PruneReport {
        pruned = List.copyOf(pruned);
        unchanged = List.copyOf(unchanged);
        refused = List.copyOf(refused);
    }

    /**
     * One pruned group.
     *
     * @param name the layer
     * @param inputWidth the width the layer reads (FFN: d)
     * @param widthBefore channels before
     * @param widthAfter channels after
     * @param kept the channels kept, ascending
     * @param scores the channels' scores, normalised per layer
     * @param parametersRemoved constant elements removed
     */
    public record Group(String name, int inputWidth, int widthBefore, int widthAfter, int[] kept, ScoreSummary scores,
                        long parametersRemoved) {
    }

    /**
     * A summary of a layer's normalised scores.
     *
     * @param min the lowest score
     * @param mean the mean score
     * @param max the highest score
     * @param lowestKept the lowest score kept
     * @param highestRemoved the highest score removed (NaN when none was)
     */
    public record ScoreSummary(double min, double mean, double max, double lowestKept, double highestRemoved) {
        /**
         * @param scores normalised scores of a group
         * @param kept the channels kept
         * @return their summary
         */
        public static ScoreSummary of(double[] scores, int[] kept) {
            boolean[] isKept = new boolean[scores.length];
            for (int c : kept) {
                isKept[c] = true;
            }
            double min = Double.POSITIVE_INFINITY;
            double max = Double.NEGATIVE_INFINITY;
            double sum = 0;
            double lowestKept = Double.POSITIVE_INFINITY;
            double highestRemoved = Double.NaN;
            for (int c = 0; c < scores.length; c++) {
                min = Math.min(min, scores[c]);
                max = Math.max(max, scores[c]);
                sum += scores[c];
                if (isKept[c]) {
                    lowestKept = Math.min(lowestKept, scores[c]);
                } else {
                    highestRemoved = Double.isNaN(highestRemoved) ? scores[c] : Math.max(highestRemoved, scores[c]);
                }
            }
            return new ScoreSummary(min, sum / scores.length, max, lowestKept, highestRemoved);
        }
    }

    /**
     * A group that could not be pruned.
     *
     * @param name the layer
     * @param reason why, naming the node and op
     */
    public record Refusal(String name, String reason) {
    }

    /** @return channels removed over all groups */
    public int channelsRemoved() {
        return pruned.stream().mapToInt(g -> g.widthBefore() - g.widthAfter()).sum();
    }

    /** @return a few lines for people: per layer the widths, then the totals */
    public String summary() {
        StringBuilder sb = new StringBuilder();
        sb.append(pass).append(" (").append(importance).append("): ").append(pruned.size()).append(" layer(s) pruned, ")
                .append(unchanged.size()).append(" at target, ").append(refused.size()).append(" refused\n");
        for (Group g : pruned) {
            sb.append(String.format("  %-48s %d -> %d (input %d)%n", g.name(), g.widthBefore(), g.widthAfter(),
                    g.inputWidth()));
        }
        for (Refusal r : refused.subList(0, Math.min(refused.size(), SHOWN_REFUSALS))) {
            sb.append("  refused ").append(r.name()).append(": ").append(r.reason()).append('\n');
        }
        if (refused.size() > SHOWN_REFUSALS) {
            sb.append("  ... ").append(refused.size() - SHOWN_REFUSALS).append(" more refused (all of them in the JSON "
                    + "report)\n");
        }
        sb.append(String.format("  params %,d -> %,d, MACs %,d -> %,d%n", parametersBefore, parametersAfter,
                macsBefore, macsAfter));
        return sb.toString();
    }
}
