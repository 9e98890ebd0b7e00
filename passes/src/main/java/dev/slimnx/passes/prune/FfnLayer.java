package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import java.util.List;

/**
 * One feed-forward hidden layer of a transformer (or of EfficientViT's conv FFN): the expanding
 * linear layer(s) {@code d → h}, an element-wise activation, the reducing layer(s) {@code h → d}
 * whose result is added back to the residual stream. The hidden units are the channel group; a
 * weight shared by two such paths (MemViT's memory path reuses its block's MLP) makes them one
 * layer.
 *
 * @param name the first expanding node's name
 * @param group the hidden units' channel group (refused when {@link #refusal} is set)
 * @param inputWidth {@code d}, the width the layer reads and writes
 * @param hiddenWidth {@code h}, the units
 * @param expand the nodes computing the hidden units
 * @param reduce the nodes reading them back to width {@code d}
 */
public record FfnLayer(String name, ChannelGroup group, int inputWidth, int hiddenWidth, List<Node> expand,
                       List<Node> reduce) {
    /** Copies the node lists. */
    public FfnLayer {
        expand = List.copyOf(expand);
        reduce = List.copyOf(reduce);
    }

    /** @return true when the hidden units can be pruned */
    public boolean isPrunable() {
        return group.isPrunable();
    }

    /** @return why not, or null */
    public String refusal() {
        return group.refusal();
    }

    /** @return {@code h / d} */
    public double ratio() {
        return (double) hiddenWidth / inputWidth;
    }
}
