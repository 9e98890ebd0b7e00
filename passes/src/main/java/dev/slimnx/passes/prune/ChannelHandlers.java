package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * The registry of channel handlers, by default-domain op type. An op without a handler (or of
 * another domain) stops every group that reaches it, with the op named: the analysis never
 * guesses what an op does with channels.
 */
public final class ChannelHandlers {
    private final Map<String, ChannelHandler> byOpType;

    private ChannelHandlers(Map<String, ChannelHandler> byOpType) {
        this.byOpType = Collections.unmodifiableMap(new TreeMap<>(byOpType));
    }

    /** @return the handlers slimnx ships */
    public static ChannelHandlers standard() {
        Map<String, ChannelHandler> h = new TreeMap<>();
        ElementwiseChannels.register(h);
        LinearChannels.register(h);
        NormalizationChannels.register(h);
        ReduceChannels.register(h);
        LayoutChannels.register(h);
        return new ChannelHandlers(h);
    }

    /**
     * @param opType a default-domain op type
     * @param handler its handler
     * @return a registry with it added, or replacing the one it had
     */
    public ChannelHandlers with(String opType, ChannelHandler handler) {
        Map<String, ChannelHandler> copy = new TreeMap<>(byOpType);
        copy.put(Objects.requireNonNull(opType), Objects.requireNonNull(handler));
        return new ChannelHandlers(copy);
    }

    /**
     * @param opType a default-domain op type
     * @return a registry without a handler for it
     */
    public ChannelHandlers without(String opType) {
        Map<String, ChannelHandler> copy = new TreeMap<>(byOpType);
        copy.remove(opType);
        return new ChannelHandlers(copy);
    }

    /**
     * @param node a node
     * @return the handler for its op, or null (no handler, or another domain)
     */
    public ChannelHandler handlerFor(Node node) {
        return node.isOnnxDomain() ? byOpType.get(node.opType()) : null;
    }

    /** @return the op types with a handler, sorted */
    public Set<String> opTypes() {
        return byOpType.keySet();
    }
}
