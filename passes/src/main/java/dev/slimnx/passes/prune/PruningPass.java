package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassResult;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What every pruning pass shares: {@link #prune} checks {@link #requires}, prunes and keeps the
 * detailed report for {@link #lastReport}; {@link #run} (the pass-manager entry) reports the groups
 * pruned and the units removed under the pass's own words.
 */
abstract class PruningPass implements Pass {
    private final String id;
    private final String groupsLabel;
    private final String unitsLabel;
    private PruneReport lastReport;

    /**
     * @param id the pass id
     * @param groupsLabel what the pass result calls the groups pruned
     * @param unitsLabel what it calls the units removed
     */
    PruningPass(String id, String groupsLabel, String unitsLabel) {
        this.id = Objects.requireNonNull(id, "id");
        this.groupsLabel = Objects.requireNonNull(groupsLabel, "groupsLabel");
        this.unitsLabel = Objects.requireNonNull(unitsLabel, "unitsLabel");
    }

    @Override
    public final String id() {
        return id;
    }

    @Override
    public final PassResult run(Model model, PassContext context) {
        PruneReport report = prune(model, context);
        Map<String, Integer> counts = new LinkedHashMap<>();
        counts.put(groupsLabel, report.pruned().size());
        counts.put(unitsLabel, report.channelsRemoved());
        return PassResult.of(id, counts);
    }

    /**
     * Runs the pass and reports in detail.
     *
     * @param model the model, pruned in place
     * @param context seed and runtime for Taylor importance
     * @return what was pruned, refused and left, with params and MACs before and after
     * @throws dev.slimnx.passes.PassRefusedException before any change, for the reasons the pass
     *     gives (Taylor importance without data or gradients, nothing to prune, ...)
     */
    public final PruneReport prune(Model model, PassContext context) {
        requires(model);
        lastReport = pruneInPlace(model, context);
        return lastReport;
    }

    /** @return the report of the last run, or null before the first */
    public final PruneReport lastReport() {
        return lastReport;
    }

    /**
     * @param model the model, which {@link #requires} accepted; pruned in place
     * @param context seed and runtime
     * @return the report
     */
    abstract PruneReport pruneInPlace(Model model, PassContext context);
}
