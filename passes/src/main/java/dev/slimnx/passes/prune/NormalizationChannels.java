package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import java.util.Map;

/**
 * Normalizations and softmax: what they compute per channel, and what they compute across
 * channels.
 *
 * <ul>
 *   <li><b>BatchNormalization</b> normalizes each channel (axis 1) with its own scale, bias, mean
 *       and variance: all four are coupled (mean and variance as statistics), other axes pass
 *       through.</li>
 *   <li><b>InstanceNormalization</b>: scale and bias per channel (axis 1); the spatial axes are
 *       what it normalizes over, so a group there is refused.</li>
 *   <li><b>LayerNormalization</b> normalizes over the axes from {@code axis} on. A group on an
 *       earlier axis (tokens) passes through. A group on a normalized axis is the residual width
 *       of a transformer, which couples every block: refused unless the analysis was asked to
 *       cross it ({@link ChannelDependencies.Options#embedDim}), when scale and bias are coupled
 *       and the statistics are simply taken over the channels that remain.</li>
 *   <li><b>Softmax</b>, <b>LogSoftmax</b>, <b>Hardmax</b> normalize along their axis (from the
 *       axis to the end before opset 13): a group there is refused, elsewhere it passes.</li>
 * </ul>
 */
final class NormalizationChannels {
    private NormalizationChannels() {
    }

    static void register(Map<String, ChannelHandler> handlers) {
        handlers.put("BatchNormalization", NormalizationChannels::batchNorm);
        handlers.put("InstanceNormalization", NormalizationChannels::instanceNorm);
        handlers.put("LayerNormalization", NormalizationChannels::layerNorm);
        for (String op : new String[] {"Softmax", "LogSoftmax", "Hardmax"}) {
            handlers.put(op, NormalizationChannels::softmax);
        }
    }

    private static boolean extraOutputsUsed(Node n) {
        for (int j = 1; j < n.outputs().size(); j++) {
            Value v = n.output(j);
            if (!v.name().isEmpty() && (!v.uses().isEmpty() || v.isGraphOutput())) {
                return true;
            }
        }
        return false;
    }

    static void batchNorm(ChannelContext ctx) {
        Node n = ctx.node();
        if (extraOutputsUsed(n)) {
            ctx.refuse("its running statistics outputs are read (training mode)");
            return;
        }
        boolean param = ctx.atInput() && ctx.port() > 0;
        if (param || ctx.axis() == 1) {
            ctx.input(0, 1, ctx.map());
            ctx.output(0, 1, ctx.map());
            ctx.input(1, 0, ctx.map());
            ctx.input(2, 0, ctx.map());
            ctx.statistic(3, 0, ctx.map());
            ctx.statistic(4, 0, ctx.map());
        } else {
            ctx.input(0, ctx.axis(), ctx.map());
            ctx.output(0, ctx.axis(), ctx.map());
        }
    }

    static void instanceNorm(ChannelContext ctx) {
        Node n = ctx.node();
        boolean param = ctx.atInput() && ctx.port() > 0;
        if (param || ctx.axis() == 1) {
            ctx.input(0, 1, ctx.map());
            ctx.output(0, 1, ctx.map());
            ctx.input(1, 0, ctx.map());
            ctx.input(2, 0, ctx.map());
        } else if (ctx.axis() == 0) {
            ctx.input(0, 0, ctx.map());
            ctx.output(0, 0, ctx.map());
        } else {
            ctx.refuse("the channels are on axis " + ctx.axis() + ", which " + n.opType() + " normalizes over");
        }
    }

    static void layerNorm(ChannelContext ctx) {
        Node n = ctx.node();
        int rank = ctx.rank(n.input(0));
        if (rank < 0) {
            ctx.refuse("the rank of its input is unknown");
            return;
        }
        if (extraOutputsUsed(n)) {
            ctx.refuse("its Mean or InvStdDev output is read");
            return;
        }
        int first = ChannelContext.normalize((int) n.intAttr("axis", -1), rank);
        int axis;
        if (ctx.atInput() && ctx.port() > 0) {
            axis = ctx.axis() + (rank - ctx.rank(n.input(ctx.port())));
        } else {
            axis = ctx.axis();
        }
        if (axis < first) {
            ctx.input(0, axis, ctx.map());
            ctx.output(0, axis, ctx.map());
            return;
        }
        if (!ctx.embedDim()) {
            ctx.refuse("it normalizes over the channel axis: the embedding width couples every block "
                    + "(pruned only when embed-dim pruning is asked for: slimnx prune --embed-dim with a target)");
            return;
        }
        ctx.input(0, axis, ctx.map());
        ctx.output(0, axis, ctx.map());
        for (int i = 1; i <= 2; i++) {
            Value p = n.input(i);
            if (p == null) {
                continue;
            }
            int pAxis = axis - (rank - ctx.rank(p));
            if (pAxis >= 0 && ctx.dim(p, pAxis) == ctx.length()) {
                ctx.input(i, pAxis, ctx.map());
            } else if (pAxis >= 0 && ctx.dim(p, pAxis) != 1) {
                ctx.refuse("cannot tell whether '" + p.name() + "' broadcasts along the channel axis");
                return;
            }
        }
    }

    static void softmax(ChannelContext ctx) {
        Node n = ctx.node();
        int rank = ctx.rank(n.input(0));
        if (rank < 0) {
            ctx.refuse("the rank of its input is unknown");
            return;
        }
        boolean coerced = ctx.opset() < 13;
        int axis = ChannelContext.normalize((int) n.intAttr("axis", coerced ? 1 : -1), rank);
        if (ctx.axis() == axis || coerced && ctx.axis() > axis) {
            ctx.refuse("it normalizes along the channel axis");
            return;
        }
        ctx.input(0, ctx.axis(), ctx.map());
        ctx.output(0, ctx.axis(), ctx.map());
    }
}
