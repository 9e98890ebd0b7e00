package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;

/**
 * How one op type is differentiated: from the gradients of a node's outputs, emit the ONNX nodes
 * that compute the gradients of its inputs.
 *
 * <p>The forward and backward graphs are one graph, so a rule reads forward values (inputs,
 * outputs) directly instead of saving them. A rule emits gradients only for the inputs that
 * {@link BackwardContext#needsGrad need one}, and an output gradient may be missing (an output that
 * does not reach the loss); {@link BackwardContext#outputGradOrZeros} stands in for it.
 *
 * <p>{@link #unsupportedReason} is asked for every node on the path before anything is emitted, so
 * a node a rule cannot handle (a Slice with computed starts, say) fails the whole build up front,
 * listed with the op types that have no rule at all.
 */
public interface BackwardRule {

    /**
     * @param node a node on the path between the chosen weights and the loss
     * @param info types, shapes and constants of the forward graph
     * @return null when {@link #emit} can differentiate the node, else why not, in a few words
     */
    default String unsupportedReason(Node node, ForwardInfo info) {
        return null;
    }

    /**
     * Whether a gradient flows into an input. An input the rule treats as a constant (the running
     * statistics of an inference-form BatchNormalization, the indices of a Gather) stops the
     * gradient: a weight read only there is not differentiated by default, and values computed
     * from it do not put the node on the path.
     *
     * @param node a node of this rule's op type
     * @param input an input slot
     * @return false when the rule never emits a gradient for that input
     */
    default boolean differentiates(Node node, int input) {
        return true;
    }

    /**
     * Emits the nodes computing the input gradients and hands each to
     * {@link BackwardContext#addInputGrad}.
     *
     * @param ctx the node, its output gradients, and the emitter
     */
    void emit(BackwardContext ctx);
}
