package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.passes.PassContext;
import java.util.Objects;

/**
 * What {@link QkDimPass} and {@link HeadPass} share as passes: the options, the check of the width
 * kept, the refusals before any change and the run through {@link AttentionPruning}; each names
 * its width and says how an attention product becomes its group ({@link AttentionPruning.Grouping}).
 */
abstract class AttentionWidthPass extends PruningPass {
    private final AttentionPruning.Options options;
    private final AttentionPruning.Grouping grouping;

    /**
     * @param id the pass id
     * @param groupsLabel what the pass result calls the layers pruned
     * @param unitsLabel what it calls the units removed
     * @param keepName the option naming the width kept, for the error message
     * @param options the width kept and the importance
     * @param grouping how a layer becomes the group this pass prunes
     * @throws IllegalArgumentException for a width below 1
     */
    AttentionWidthPass(String id, String groupsLabel, String unitsLabel, String keepName,
                       AttentionPruning.Options options, AttentionPruning.Grouping grouping) {
        super(id, groupsLabel, unitsLabel);
        this.options = Objects.requireNonNull(options, "options");
        this.grouping = Objects.requireNonNull(grouping, "grouping");
        checkKeep(keepName, options.keep());
    }

    /**
     * @param keepName the option's name
     * @param keep the width kept
     * @return {@code keep}
     * @throws IllegalArgumentException below 1
     */
    static int checkKeep(String keepName, int keep) {
        if (keep < 1) {
            throw new IllegalArgumentException(keepName + " must be at least 1, got " + keep);
        }
        return keep;
    }

    /** @return the options */
    AttentionPruning.Options options() {
        return options;
    }

    /** @return the options with another seed for random importance */
    AttentionPruning.Options withSeedOptions(long seed) {
        return new AttentionPruning.Options(options.keep(), options.criterion(), options.norm(), seed, options.data(),
                options.calibBatches(), options.normalization());
    }

    @Override
    public void requires(Model model) {
        AttentionPruning.requires(id(), options, model);
    }

    /**
     * @throws dev.slimnx.passes.PassRefusedException before any change: no attention product, or
     *     Taylor importance without data or gradients
     */
    @Override
    PruneReport pruneInPlace(Model model, PassContext context) {
        return AttentionPruning.prune(id(), model, context, options, grouping);
    }
}
