package dev.slimnx.passes.prune;

/**
 * How one op type couples channels: called when a channel group reaches one input or output of a
 * node of that type, it names the other inputs and outputs whose channels must shrink with it
 * ({@link ChannelContext#input}, {@link ChannelContext#output}), marks the node when a constant
 * or attribute of it encodes the width ({@link ChannelContext#rewrites}), or refuses
 * ({@link ChannelContext#refuse}) when the op does something with the channels that removing them
 * would not preserve. A handler that couples nothing ends the group at that port: a contraction
 * (the reduced axis of a MatMul) or a consumer that reads positions the group does not touch.
 */
@FunctionalInterface
public interface ChannelHandler {
    /**
     * @param ctx the node, the port and axis the group arrived at, and what the handler may answer
     */
    void couple(ChannelContext ctx);
}
