package dev.slimnx.graph;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Fresh names for values and nodes a pass creates, unique in the graph and the graphs around it
 * (a subgraph name must not shadow an outer value a node inside reads) and in the graphs nested in
 * it (an outer name must not be shadowed by a subgraph's own input or initializer).
 *
 * <p>NOTE: the names in use are gathered from the whole tree of graphs (from the outermost graph
 * down through every subgraph) and cached; any change that adds or renames a value, node or
 * subgraph anywhere bumps a global epoch and the next call gathers again, so the cache cannot go
 * stale the way per-graph invalidation could (a value added to an outer graph, a renamed value).
 * The common changes are folded in instead: a node (without subgraphs), graph input, initializer
 * or node output added to a graph, or a value or node of a graph renamed, while that graph's
 * generator has a current cache, only adds names, which join that cache (a name that left stays
 * in it: the cache may hold more names than are in use, never fewer). Without that, a pass that
 * adds nodes one by one and asks for a fresh name before each (the gradient builder emits
 * thousands) would walk the model once per node. Renames and additions of nodes, values and
 * attributes not yet in a graph bump nothing: their names are gathered when they join one.
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

    /**
     * A node was added to this generator's graph: its names join the cache when the cache was
     * current, else (or when the node owns subgraphs) every cache is dropped.
     */
    void added(Node node) {
        if (!node.subgraphs().isEmpty()) {
            changed();
            return;
        }
        List<String> names = new ArrayList<>(node.outputs().size() + 1);
        names.add(node.name());
        for (Value v : node.outputs()) {
            names.add(v.name());
        }
        added(names);
    }

    /**
     * A graph input, initializer or node output was added to this generator's graph, or one of its
     * values or nodes renamed (see {@link #added(Node)}).
     *
     * @param name the name that joined the graph
     */
    void added(String name) {
        added(List.of(name));
    }

    private void added(List<String> names) {
        long seen = takenEpoch;
        // NOTE: the compare-and-set succeeds only if no change anywhere came after the cache was
        // filled; other generators are still invalidated by the bump, as for any change
        if (taken != null && EPOCH.compareAndSet(seen, seen + 1)) {
            taken.addAll(names);
            takenEpoch = seen + 1;
        } else {
            changed();
        }
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
