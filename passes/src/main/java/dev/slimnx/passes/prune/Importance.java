package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.passes.PassContext;
import java.util.List;

/**
 * An importance criterion: a function from a channel group to one score per channel; higher means
 * keep. Criteria see all groups at once because the data-driven one ({@link TaylorImportance})
 * differentiates the model once for all of them.
 *
 * <p>Scores are comparable within a group; across groups only after normalising each group
 * ({@link ScoreNormalization}), which is what a global ranking over layers needs.
 */
public interface Importance {
    /** @return a short name for reports: {@code taylor}, {@code magnitude-l1}, {@code random} */
    String name();

    /**
     * @param model the model the groups were found in, before any of them is pruned
     * @param groups prunable groups
     * @param context seed, runtime options
     * @return per group (same order), one non-negative score per channel
     */
    List<double[]> scores(Model model, List<ChannelGroup> groups, PassContext context);
}
