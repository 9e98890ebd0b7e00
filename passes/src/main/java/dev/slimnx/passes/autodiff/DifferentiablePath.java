package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The nodes a gradient flows through: those with an input that depends on a source (a chosen
 * weight or value) and a floating-point output that both depends on a source and reaches the loss.
 *
 * <p>Dependence stops at integer and boolean values: a {@code Shape}, an index, a mask carries no
 * gradient, so whatever is computed from a weight's shape is not on the path (the stop-gradient of
 * integer tensors). A node whose inputs depend on no source is not on the path either, however
 * much it feeds the loss, so no useless backward node is emitted for it. Values read inside a
 * node's subgraphs count as its inputs. An input a node's rule treats as a constant
 * ({@link BackwardRule#differentiates}) does not count either: BatchNormalization's running
 * statistics, say, never make it depend on a source.
 */
final class DifferentiablePath {
    private final Set<Value> dependent;
    private final Set<Value> reaching;
    private final List<Node> nodes;
    private final BackwardRules rules;

    private DifferentiablePath(Set<Value> dependent, Set<Value> reaching, List<Node> nodes, BackwardRules rules) {
        this.dependent = dependent;
        this.reaching = reaching;
        this.nodes = nodes;
        this.rules = rules;
    }

    /**
     * @param g the graph
     * @param sources the values differentiated with respect to
     * @param targets the values the loss is taken over
     * @param info element types
     * @param rules which inputs each op differentiates
     * @return the path
     * @throws IllegalArgumentException when the graph has a cycle
     */
    static DifferentiablePath find(Graph g, Collection<Value> sources, Collection<Value> targets, ForwardInfo info,
                                   BackwardRules rules) {
        List<Node> order = g.topologicalOrder();
        if (order == null) {
            throw new IllegalArgumentException("graph '" + g.name() + "' has a cycle");
        }
        Set<Value> dependent = identitySet();
        dependent.addAll(sources);
        for (Node n : order) {
            if (readsAny(n, dependent, rules)) {
                for (Value out : n.outputs()) {
                    if (!out.name().isEmpty() && carriesGradient(info.elemType(out))) {
                        dependent.add(out);
                    }
                }
            }
        }
        Set<Value> reaching = identitySet();
        reaching.addAll(targets);
        for (int i = order.size() - 1; i >= 0; i--) {
            Node n = order.get(i);
            if (n.outputs().stream().anyMatch(reaching::contains)) {
                reaching.addAll(reads(n));
            }
        }
        List<Node> nodes = new ArrayList<>();
        for (Node n : order) {
            boolean active = readsAny(n, dependent, rules)
                    && n.outputs().stream().anyMatch(o -> dependent.contains(o) && reaching.contains(o));
            if (active) {
                nodes.add(n);
            }
        }
        return new DifferentiablePath(dependent, reaching, nodes, rules);
    }

    /** @return the nodes on the path, in topological order */
    List<Node> nodes() {
        return nodes;
    }

    /** @return true when {@code v} depends on a source through differentiable values */
    boolean dependsOnSource(Value v) {
        return dependent.contains(v);
    }

    /**
     * @param n a node on the path
     * @param input one of its input slots
     * @return true when that input wants a gradient: it depends on a source and the node's rule
     *     differentiates it
     */
    boolean needsGrad(Node n, int input) {
        Value v = n.input(input);
        return v != null && dependent.contains(v) && rules.differentiates(n, input);
    }

    /**
     * @param v a source
     * @return true when a gradient can reach it: it is read by a node on the path, or is a loss target
     */
    boolean reachesLoss(Value v, Collection<Value> targets) {
        if (targets.contains(v)) {
            return true;
        }
        for (Node n : nodes) {
            for (int i = 0; i < n.inputs().size(); i++) {
                if (n.input(i) == v && rules.differentiates(n, i)) {
                    return true;
                }
            }
            if (readsInSubgraphs(n).contains(v)) {
                return true;
            }
        }
        return false;
    }

    /**
     * NOTE: an unknown element type counts as differentiable, so an op of unknown output type on the
     * path fails the build for want of a rule instead of silently dropping a gradient.
     */
    private static boolean carriesGradient(DataType t) {
        return t == null || t.isFloatingPoint();
    }

    private static boolean readsAny(Node n, Set<Value> set, BackwardRules rules) {
        for (int i = 0; i < n.inputs().size(); i++) {
            Value v = n.input(i);
            if (v != null && set.contains(v) && rules.differentiates(n, i)) {
                return true;
            }
        }
        for (Value v : readsInSubgraphs(n)) {
            if (set.contains(v)) {
                return true;
            }
        }
        return false;
    }

    /** The node's inputs and every value read inside its subgraphs. */
    static List<Value> reads(Node n) {
        List<Value> out = new ArrayList<>();
        for (Value v : n.inputs()) {
            if (v != null) {
                out.add(v);
            }
        }
        out.addAll(readsInSubgraphs(n));
        return out;
    }

    /** Every value read inside the node's subgraphs. */
    private static List<Value> readsInSubgraphs(Node n) {
        List<Value> out = new ArrayList<>();
        for (Graph sub : n.subgraphs()) {
            for (Node inner : sub.nodes()) {
                out.addAll(reads(inner));
            }
        }
        return out;
    }

    private static Set<Value> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }
}
