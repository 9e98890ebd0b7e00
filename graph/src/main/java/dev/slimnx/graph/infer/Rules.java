package dev.slimnx.graph.infer;

import dev.slimnx.graph.Node;
import java.util.HashMap;
import java.util.Map;

/**
 * The registry of shape rules of the default ONNX domain, by op type, and of the few
 * {@code com.microsoft} ops slimnx writes itself. Each op family registers its rules in its own
 * class, so a rule is found by op type and read next to its siblings.
 */
final class Rules {
    private static final Map<String, ShapeRule> RULES = new HashMap<>();
    private static final Map<String, ShapeRule> MICROSOFT = new HashMap<>();

    static {
        ElementwiseRules.register(RULES);
        ShapeValueRules.register(RULES);
        DataMovementRules.register(RULES);
        LinearRules.register(RULES);
        ConvPoolRules.register(RULES);
        ReduceRules.register(RULES);
        NormalizationRules.register(RULES);
        ControlFlowRules.register(RULES);
        ContribRules.register(MICROSOFT);
    }

    private Rules() {
    }

    /** @return the rule for the node's op, or null (other domains, ops without a rule) */
    static ShapeRule find(Node n) {
        if (n.isOnnxDomain()) {
            return RULES.get(n.opType());
        }
        return n.domain().equals("com.microsoft") ? MICROSOFT.get(n.opType()) : null;
    }

    /** @return true if the default-domain op has a rule */
    static boolean has(String opType) {
        return RULES.containsKey(opType);
    }
}
