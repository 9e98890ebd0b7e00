package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;

/**
 * One fusion of {@link FusePass}: recognizes a pattern that starts at an anchor node and replaces
 * it by one node. A rule checks everything before its first mutation, so a site is either fused
 * completely or left exactly as it was.
 */
interface FusionRule {

    /** @return what the rule rewrites, the count kind in the pass result */
    String kind();

    /**
     * @param anchor any node of the model (the rule checks the op type first)
     * @param model the model the node belongs to, for its opset
     * @return true when the pattern at {@code anchor} was fused, false when nothing changed
     */
    boolean tryFuse(Node anchor, Model model);
}
