package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import java.util.Map;
import java.util.TreeSet;

/**
 * Reductions. Over other axes (the tokens of a transformer, the spatial axes of a global pool
 * written as ReduceMean) the channels pass through, on an axis shifted by the reduced axes before
 * it when {@code keepdims} is 0. Over the channel axis, {@code ReduceSum} and
 * {@code ReduceSumSquare} end the group like a contraction (a removed channel is a removed term);
 * every other reduction there is refused: a mean would be rescaled, a maximum or product changed
 * in kind.
 */
final class ReduceChannels {
    private ReduceChannels() {
    }

    private static final String[] OPS = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
        "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"};

    static void register(Map<String, ChannelHandler> handlers) {
        for (String op : OPS) {
            handlers.put(op, ReduceChannels::reduce);
        }
    }

    static void reduce(ChannelContext ctx) {
        Node n = ctx.node();
        if (ctx.atInput() && ctx.port() != 0) {
            ctx.refuse("the channels reach its axes input");
            return;
        }
        int rank = ctx.rank(n.input(0));
        if (rank < 0) {
            ctx.refuse("the rank of its input is unknown");
            return;
        }
        boolean axesAsInput = n.is("ReduceSum") ? ctx.opset() >= 13 : ctx.opset() >= 18;
        long[] given = axesAsInput ? ctx.ints(1, null) : n.intsAttr("axes");
        if (axesAsInput && n.input(1) != null && given == null) {
            ctx.refuse("its axes are computed, not constant");
            return;
        }
        TreeSet<Integer> axes = new TreeSet<>();
        if (given == null || given.length == 0) {
            if (n.intAttr("noop_with_empty_axes", 0) != 0) {
                ctx.input(0, ctx.axis(), ctx.map());
                ctx.output(0, ctx.axis(), ctx.map());
                return;
            }
            for (int i = 0; i < rank; i++) {
                axes.add(i);
            }
        } else {
            for (long a : given) {
                axes.add(ChannelContext.normalize((int) a, rank));
            }
        }
        boolean keep = n.intAttr("keepdims", 1) != 0;
        int inAxis;
        if (ctx.atInput()) {
            inAxis = ctx.axis();
        } else if (keep) {
            inAxis = ctx.axis();
        } else {
            inAxis = -1;
            int seen = 0;
            for (int i = 0; i < rank; i++) {
                if (!axes.contains(i)) {
                    if (seen == ctx.axis()) {
                        inAxis = i;
                        break;
                    }
                    seen++;
                }
            }
        }
        if (axes.contains(inAxis)) {
            if (ctx.atInput() && (n.is("ReduceSum") || n.is("ReduceSumSquare"))) {
                return; // a sum over the channels: a removed channel is a removed term
            }
            ctx.refuse("it reduces over the channel axis");
            return;
        }
        int outAxis = keep ? inAxis : inAxis - axes.headSet(inAxis).size();
        ctx.input(0, inAxis, ctx.map());
        ctx.output(0, outAxis, ctx.map());
    }
}
