package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import java.util.Map;

/**
 * The ops that mix channels: MatMul, Gemm and Conv. Their weights are where groups start and end.
 *
 * <ul>
 *   <li><b>MatMul</b> {@code [.., M, K] × [.., K, N]}: the output channels N couple B's last axis
 *       with the output's last axis; the contracted K couples A's last axis with B's second to
 *       last and stops there (removing a term of the sum); M couples A with the output; batch axes
 *       couple both operands (unless one broadcasts) with the output, as attention's head axis
 *       does.</li>
 *   <li><b>Gemm</b> {@code alpha·A'·B' + beta·C} with {@code A' = transA ? Aᵀ : A} and
 *       {@code B' = transB ? Bᵀ : B}: the same, with the axes swapped by the flags; C, broadcast to
 *       {@code [M, N]}, is coupled along the axis it does not broadcast.</li>
 *   <li><b>Conv</b> {@code X [N, C, ..] * W [M, C/g, k..] + B [M]}: with {@code group = 1} the
 *       input channels couple X's axis 1 with W's axis 1 and stop; the output channels couple W's
 *       axis 0, B and Y's axis 1. A depthwise Conv ({@code group = C}, {@code M = k·C}) passes its
 *       channels through: input channel c owns output channels {@code [c·k, c·k + k)} of W, B and
 *       Y, and {@code group} is rewritten to the new channel count. Other groupings are refused:
 *       a channel removed from one group of a grouped Conv would leave the groups unequal.</li>
 * </ul>
 */
final class LinearChannels {
    private LinearChannels() {
    }

    static void register(Map<String, ChannelHandler> handlers) {
        handlers.put("MatMul", LinearChannels::matMul);
        handlers.put("Gemm", LinearChannels::gemm);
        handlers.put("Conv", LinearChannels::conv);
    }

    static void matMul(ChannelContext ctx) {
        Node n = ctx.node();
        int ra = ctx.rank(n.input(0));
        int rb = ctx.rank(n.input(1));
        int r = ctx.rank(n.output(0));
        if (ra < 2 || rb < 2 || r < 2) {
            ctx.refuse("an operand of rank " + Math.min(ra, rb) + " (vector products are not followed)");
            return;
        }
        ChannelMap m = ctx.map();
        int a = ctx.axis();
        // which side and role the arriving axis has, as an axis of the output (or -1 for K)
        int outAxis;
        if (ctx.atInput() && ctx.port() == 0) {
            if (a == ra - 1) {
                ctx.input(1, rb - 2, m);
                return;
            }
            outAxis = a + (r - ra);
        } else if (ctx.atInput()) {
            if (a == rb - 2) {
                ctx.input(0, ra - 1, m);
                return;
            }
            outAxis = a == rb - 1 ? r - 1 : a + (r - rb);
        } else {
            outAxis = a;
        }
        ctx.output(0, outAxis, m);
        if (outAxis == r - 1) {
            ctx.input(1, rb - 1, m);
        } else if (outAxis == r - 2) {
            ctx.input(0, ra - 2, m);
        } else {
            // a batch axis: each operand that has it without broadcasting
            coupleBatch(ctx, 0, outAxis - (r - ra));
            coupleBatch(ctx, 1, outAxis - (r - rb));
        }
    }

    private static void coupleBatch(ChannelContext ctx, int input, int axis) {
        if (axis < 0) {
            return;
        }
        long d = ctx.dim(ctx.node().input(input), axis);
        if (d == 1 && ctx.length() != 1) {
            return;
        }
        if (d != ctx.length()) {
            ctx.refuse("cannot tell whether input " + input + " broadcasts along batch axis " + axis);
            return;
        }
        ctx.input(input, axis, ctx.map());
    }

    static void gemm(ChannelContext ctx) {
        Node n = ctx.node();
        int aK = n.intAttr("transA", 0) != 0 ? 0 : 1;
        int aM = 1 - aK;
        int bK = n.intAttr("transB", 0) != 0 ? 1 : 0;
        int bN = 1 - bK;
        ChannelMap m = ctx.map();
        int a = ctx.axis();
        int outAxis;
        if (ctx.atInput()) {
            switch (ctx.port()) {
                case 0 -> {
                    if (a == aK) {
                        ctx.input(1, bK, m);
                        return;
                    }
                    outAxis = 0;
                }
                case 1 -> {
                    if (a == bK) {
                        ctx.input(0, aK, m);
                        return;
                    }
                    outAxis = 1;
                }
                default -> {
                    int rc = ctx.rank(n.input(2));
                    outAxis = a + (2 - rc);
                }
            }
        } else {
            outAxis = a;
        }
        ctx.output(0, outAxis, m);
        if (outAxis == 0) {
            ctx.input(0, aM, m);
        } else {
            ctx.input(1, bN, m);
        }
        Value c = n.input(2);
        if (c != null) {
            int rc = ctx.rank(c);
            int cAxis = outAxis - (2 - rc);
            if (rc < 0) {
                ctx.refuse("the rank of C is unknown");
            } else if (cAxis >= 0) {
                long d = ctx.dim(c, cAxis);
                if (d == ctx.length()) {
                    ctx.input(2, cAxis, m);
                } else if (d != 1) {
                    ctx.refuse("cannot tell whether C broadcasts along the channel axis");
                }
            }
        }
    }

    static void conv(ChannelContext ctx) {
        Node n = ctx.node();
        long group = n.intAttr("group", 1);
        Value x = n.input(0);
        long channels = ctx.dim(x, 1);
        long outChannels = ctx.dim(n.input(1), 0);
        int a = ctx.axis();
        ChannelMap m = ctx.map();
        boolean xSide = ctx.atInput() && ctx.port() == 0;
        boolean wInput = ctx.atInput() && ctx.port() == 1 && a == 1;
        if (xSide && a != 1 || !ctx.atInput() && a != 1 || ctx.atInput() && ctx.port() == 1 && a > 1
                || ctx.atInput() && ctx.port() == 2 && a != 0) {
            ctx.refuse("the channels are on axis " + a + " of " + (ctx.atInput() ? "input " + ctx.port() : "the output")
                    + ", not a channel axis");
            return;
        }
        if (group == 1) {
            if (xSide) {
                ctx.input(1, 1, m);
            } else if (wInput) {
                ctx.input(0, 1, m);
            } else {
                ctx.input(1, 0, m);
                ctx.output(0, 1, m);
                if (n.input(2) != null) {
                    ctx.input(2, 0, m);
                }
            }
            return;
        }
        if (channels < 0 || outChannels < 0 || group != channels || outChannels % group != 0) {
            ctx.refuse("grouped convolution (group " + group + " of " + channels + " channels): removing a channel "
                    + "would leave the groups unequal");
            return;
        }
        int k = (int) (outChannels / group);
        ChannelMap perInput;
        if (xSide) {
            perInput = m;
        } else {
            if (m.offset() % k != 0 || m.block() % k != 0 || m.period() % k != 0) {
                ctx.refuse("the channels split the " + k + " outputs of a depthwise input channel");
                return;
            }
            perInput = new ChannelMap(m.offset() / k, m.block() / k, m.repeats(), m.period() / k);
        }
        ChannelMap perOutput = new ChannelMap(perInput.offset() * k, perInput.block() * k, perInput.repeats(),
                perInput.period() * k);
        ctx.input(0, 1, perInput);
        ctx.input(1, 0, perOutput);
        ctx.output(0, 1, perOutput);
        if (n.input(2) != null) {
            ctx.input(2, 0, perOutput);
        }
        ctx.rewrites();
    }
}
