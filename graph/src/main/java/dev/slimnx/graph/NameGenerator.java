package dev.slimnx.graph;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fresh names for values and nodes a pass creates, unique in the graph and the graphs around it
 * (a subgraph name must not shadow an outer value a node inside reads) and in the graphs nested in
 * it (an outer name must not be shadowed by a subgraph's own input or initializer).
 *
 * <p>NOTE: the names in use are gathered from the whole tree of graphs (from the outermost graph
 * down through every subgraph) and cached; any change that adds or renames a value, node or
 * subgraph anywhere bumps a global epoch and the next call gathers again. That is a walk over the
 * model after each such change, which is cheap next to what a pass does per site, and it cannot go
 * stale the way per-graph invalidation could (a value added to an outer graph, a renamed value).
 */
public final class NameGenerator {
    private static final AtomicLong EPOCH = new AtomicLong();

    private final Graph graph;
    private final Set<String> issued = new HashSet<>();
    private Set<String> taken;
    private long takenEpoch = -1;

    NameGenerator(Graph graph) {
        this.graph = graph;
    }

    /** Records that names may have changed somewhere: every generator gathers again on next use. */
    static void changed() {
        EPOCH.incrementAndGet();
    }

    void invalidate() {
        changed();
    }

    /**
     * @param hint a readable prefix, e.g. {@code "ffn1/weight_pruned"}
     * @return {@code hint} itself if unused, else {@code hint_N} for the smallest free N
     */
    public String fresh(String hint) {
        long epoch = EPOCH.get();
        if (taken == null || takenEpoch != epoch) {
            Set<String> names = new HashSet<>();
            Graph root = graph;
            while (root.parentGraph() != null) {
                root = root.parentGraph();
            }
            collect(root, names);
            taken = names;
            takenEpoch = epoch;
        }
        String candidate = hint;
        for (int i = 1; taken.contains(candidate) || issued.contains(candidate); i++) {
            candidate = hint + "_" + i;
        }
        issued.add(candidate);
        taken.add(candidate);
        return candidate;
    }

    /** Every value and node name of {@code g} and of the graphs nested in it. */
    private static void collect(Graph g, Set<String> out) {
        out.addAll(g.valuesByName().keySet());
        for (Value v : g.outputs()) {
            out.add(v.name());
        }
        for (Node n : g.nodes()) {
            out.add(n.name());
            for (Graph sub : n.subgraphs()) {
                collect(sub, out);
            }
        }
    }
}
