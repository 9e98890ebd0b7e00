package dev.slimnx.graph;

import java.util.HashSet;
import java.util.Set;

/**
 * Fresh names for values and nodes a pass creates, unique in the graph and the graphs around it
 * (a subgraph name must not shadow an outer value a node inside reads).
 */
public final class NameGenerator {
    private final Graph graph;
    private final Set<String> issued = new HashSet<>();
    private Set<String> taken;

    NameGenerator(Graph graph) {
        this.graph = graph;
    }

    void invalidate() {
        taken = null;
    }

    /**
     * @param hint a readable prefix, e.g. {@code "ffn1/weight_pruned"}
     * @return {@code hint} itself if unused, else {@code hint_N} for the smallest free N
     */
    public String fresh(String hint) {
        if (taken == null) {
            taken = new HashSet<>();
            for (Graph g = graph; g != null; g = g.parentGraph()) {
                collect(g, taken);
            }
        }
        String candidate = hint;
        for (int i = 1; taken.contains(candidate) || issued.contains(candidate); i++) {
            candidate = hint + "_" + i;
        }
        issued.add(candidate);
        taken.add(candidate);
        return candidate;
    }

    private static void collect(Graph g, Set<String> out) {
        out.addAll(g.valuesByName().keySet());
        for (Node n : g.allNodes()) {
            out.add(n.name());
            for (Value v : n.outputs()) {
                out.add(v.name());
            }
        }
    }
}
