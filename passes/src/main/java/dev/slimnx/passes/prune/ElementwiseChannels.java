package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import java.util.Map;

/**
 * Ops that act on every channel on its own, so the group passes straight through them: unary
 * activations and casts (a GELU written as Div, Erf, Add and Mul with scalars, SiLU as
 * {@code x·sigmoid(x)}), element-wise ops with numpy broadcasting, and pooling over spatial axes.
 *
 * <p>Broadcasting: the output axis is the arriving axis counted from the end. Every other input
 * that has that axis with the group's length is coupled along it (a {@code [C]} bias, a
 * {@code [1, C, 1, 1]} scale: pruning slices them); an input without the axis, or with size 1
 * there (a scalar, a per-token tensor), is left alone. An input whose size there is unknown is
 * refused, since nothing says whether it broadcasts.
 */
final class ElementwiseChannels {
    private ElementwiseChannels() {
    }

    private static final String[] UNARY = {"Relu", "Sigmoid", "Tanh", "Erf", "Gelu", "Exp", "Log", "Neg", "Abs",
        "Sqrt", "Reciprocal", "Softplus", "Softsign", "HardSigmoid", "HardSwish", "LeakyRelu", "Elu", "Selu", "Celu",
        "Mish", "ThresholdedRelu", "Identity", "Cast", "Not", "Sign", "Floor", "Ceil", "Round", "Sin", "Cos", "Tan",
        "Atan", "IsNaN", "IsInf", "Dropout"};

    private static final String[] BROADCASTING = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum",
        "Where", "PRelu", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Mod",
        "Clip"};

    private static final String[] POOLING = {"MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "GlobalMaxPool",
        "GlobalLpPool"};

    static void register(Map<String, ChannelHandler> handlers) {
        for (String op : UNARY) {
            handlers.put(op, ElementwiseChannels::unary);
        }
        for (String op : BROADCASTING) {
            handlers.put(op, ElementwiseChannels::broadcasting);
        }
        for (String op : POOLING) {
            handlers.put(op, ElementwiseChannels::pooling);
        }
    }

    /** Input 0 and every output share the shape; other inputs (Dropout's ratio) are scalars. */
    static void unary(ChannelContext ctx) {
        Node n = ctx.node();
        if (ctx.atInput() && ctx.port() != 0) {
            ctx.refuse("the channels reach input " + ctx.port() + ", which is not the data");
            return;
        }
        ctx.input(0, ctx.axis(), ctx.map());
        for (int j = 0; j < n.outputs().size(); j++) {
            if (!n.output(j).name().isEmpty()) {
                ctx.output(j, ctx.axis(), ctx.map());
            }
        }
    }

    static void broadcasting(ChannelContext ctx) {
        Node n = ctx.node();
        Value out = n.output(0);
        int rank = ctx.rank(out);
        if (rank < 0) {
            ctx.refuse("the rank of its output is unknown");
            return;
        }
        int outAxis;
        if (ctx.atInput()) {
            int r = ctx.rank(n.input(ctx.port()));
            outAxis = ctx.axis() + (rank - r);
        } else {
            outAxis = ctx.axis();
        }
        long length = ctx.length();
        for (int i = 0; i < n.inputs().size(); i++) {
            Value in = n.input(i);
            if (in == null) {
                continue;
            }
            int r = ctx.rank(in);
            if (r < 0) {
                ctx.refuse("the rank of input '" + in.name() + "' is unknown");
                return;
            }
            int a = outAxis - (rank - r);
            if (a < 0) {
                continue;
            }
            long d = ctx.dim(in, a);
            if (d == 1 && length != 1) {
                continue;
            }
            if (d != length) {
                ctx.refuse("cannot tell whether input '" + in.name() + "' " + ctx.shape(in)
                        + " broadcasts along the channel axis of length " + length);
                return;
            }
            ctx.input(i, a, ctx.map());
        }
        ctx.output(0, outAxis, ctx.map());
    }

    /** Pooling acts on the spatial axes of each channel: batch and channel axes pass through. */
    static void pooling(ChannelContext ctx) {
        Node n = ctx.node();
        if (ctx.port() != 0) {
            ctx.refuse("the channels reach a slot other than the data");
            return;
        }
        if (ctx.axis() > 1) {
            ctx.refuse("the channels are on spatial axis " + ctx.axis());
            return;
        }
        if (n.outputs().size() > 1 && (!n.output(1).uses().isEmpty() || n.output(1).isGraphOutput())) {
            ctx.refuse("its indices output encodes flat positions");
            return;
        }
        ctx.input(0, ctx.axis(), ctx.map());
        ctx.output(0, ctx.axis(), ctx.map());
    }
}
