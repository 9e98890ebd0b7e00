package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The registry of backward rules, by default-domain op type. {@link #standard()} holds every rule
 * slimnx ships; {@link #with} adds or replaces one (a caller's own op, or a test's).
 *
 * <p>Ops of other domains (ONNX Runtime's contrib ops, say) have no rule here: their semantics are
 * not ONNX's, so a model using them on the differentiated path is refused up front.
 */
public final class BackwardRules {
    private final Map<String, BackwardRule> byOpType;

    private BackwardRules(Map<String, BackwardRule> byOpType) {
        this.byOpType = Collections.unmodifiableMap(new TreeMap<>(byOpType));
    }

    /** @return the rules slimnx ships */
    public static BackwardRules standard() {
        Map<String, BackwardRule> rules = new TreeMap<>();
        ElementwiseRules.register(rules);
        MatMulRules.register(rules);
        ConvRules.register(rules);
        ShapeRules.register(rules);
        IndexingRules.register(rules);
        ReductionRules.register(rules);
        NormalizationRules.register(rules);
        return new BackwardRules(rules);
    }

    /**
     * @param opType a default-domain op type
     * @param rule its rule
     * @return a registry with that rule added, or replacing the one it had
     */
    public BackwardRules with(String opType, BackwardRule rule) {
        Map<String, BackwardRule> copy = new TreeMap<>(byOpType);
        copy.put(Objects.requireNonNull(opType), Objects.requireNonNull(rule));
        return new BackwardRules(copy);
    }

    /**
     * @param node a node
     * @return the rule for its op, or null for an op without one (or of another domain)
     */
    public BackwardRule ruleFor(Node node) {
        return node.isOnnxDomain() ? byOpType.get(node.opType()) : null;
    }

    /**
     * @param node a node
     * @param input one of its input slots
     * @return false when the node's rule treats that input as a constant; true for a node
     *     without a rule (so it is met on the path and refused, instead of silently cut off)
     */
    public boolean differentiates(Node node, int input) {
        BackwardRule rule = ruleFor(node);
        return rule == null || rule.differentiates(node, input);
    }

    /** @return the op types with a rule, sorted */
    public Set<String> opTypes() {
        return byOpType.keySet();
    }
}
