package dev.slimnx.graph.infer;

import dev.slimnx.graph.Node;
import java.util.HashMap;
import java.util.Map;

/**
 * The registry of shape rules of the default ONNX domain, by op type. Each op family registers its
 * rules in its own class, so a rule is found by op type and read next to its siblings.
 */
final class Rules {
    private static final Map<String, ShapeRule> RULES = new HashMap<>();

    static {
        ElementwiseRules.register(RULES);
        ShapeValueRules.register(RULES);
        DataMovementRules.register(RULES);
        LinearRules.register(RULES);
        ConvPoolRules.register(RULES);
        ReduceRules.register(RULES);
        NormalizationRules.register(RULES);
        ControlFlowRules.register(RULES);
    }

    private Rules() {
    }

    /** @return the rule for the node's op, or null (other domains, ops without a rule) */
    static ShapeRule find(Node n) {
        return n.isOnnxDomain() ? RULES.get(n.opType()) : null;
    }

    /** @return true if the default-domain op has a rule */
    static boolean has(String opType) {
        return RULES.containsKey(opType);
    }
}
