package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Removes whole attention heads, keeping the most important: each head's Q, K and V slices, the
 * matching rows of the output projection, and the head count in every Reshape between them.
 *
 * <p>Math: multi-head attention is {@code Σ_h softmax(Q_h·K_hᵀ·s)·V_h·W_o[h]}, a sum over heads
 * of terms that share nothing but the input, so removing head {@code h} removes one term. The
 * group is seeded at the head axis of Q ({@code [B, H, T, d]}) and follows the batch axis of the
 * Q·Kᵀ and attention·V products to K, V, the mask (when it has a head axis) and, through the merge
 * Reshape, to the blocks of {@code d} rows of the output projection.
 *
 * <p>When it does not fire: a product without a head axis is refused (EfficientViT's cascaded
 * heads: each head reads the previous head's output added to its own split of the channels, so a
 * head cannot be removed without changing the next one's input, and the splits of the input are
 * tied to the head count). DeepViT's re-attention mixes the heads' maps with a learnable
 * {@code H×H} matrix and normalises over heads: the matrix would shrink on both axes (rows with
 * the Q/K heads, columns with the V heads), which one channel group cannot hold, and the head
 * norm couples the V heads, so such a product is refused with that reason (its Q/K group alone
 * would stop at the matrix's rows, which is not removing heads). A product already at or
 * below {@code H} heads is left alone; a model without Q·Kᵀ products (MobileViTv2) is refused. In
 * the report, a group's {@code inputWidth} is the per-head dim.
 */
public final class HeadPass extends AttentionWidthPass {
    /** The pass id. */
    public static final String ID = "prune-heads";

    private static final List<PassOption> OPTIONS;

    static {
        List<PassOption> o = new ArrayList<>();
        o.add(new PassOption("heads", "heads to keep in every attention", "2"));
        o.addAll(AttentionPruning.COMMON_OPTIONS);
        OPTIONS = List.copyOf(o);
    }

    /** How the CLI and recipes find this pass; without data, Taylor importance refuses (see {@link #descriptor}). */
    public static final PassDescriptor DESCRIPTOR = describe(null);

    private static final AttentionPruning.Grouping GROUPING = new AttentionPruning.Grouping() {
        @Override
        public ChannelGroup groupOf(AttentionLayer layer, ChannelDependencies deps, String[] refusal) {
            if (layer.headAxis() < 0) {
                refusal[0] = "the product has no head axis (cascaded heads, as in EfficientViT: each head reads the "
                        + "previous head's output, so removing one changes the next)";
                return null;
            }
            ChannelGroup g = deps.groupOf(layer.scores().input(0), layer.headAxis());
            if (g.isPrunable() && !reachesValues(g, layer)) {
                refusal[0] = "the heads' attention maps reach V only through a learnable H×H matrix (DeepViT's "
                        + "re-attention): its rows follow the Q/K heads, its columns and the head norm the V heads, "
                        + "and one channel group cannot shrink a tensor on both axes";
                return null;
            }
            return g;
        }

        @Override
        public int width(AttentionLayer layer) {
            return layer.heads();
        }

        @Override
        public int inputWidth(AttentionLayer layer) {
            return layer.qkDim();
        }
    };

    /** True when the head group reaches the attention·V product's output: whole heads, V included. */
    private static boolean reachesValues(ChannelGroup g, AttentionLayer layer) {
        for (Node n : g.nodes()) {
            if (n != layer.scores() && n.is("MatMul") && GraphEdits.constant(n.input(0)) == null
                    && GraphEdits.constant(n.input(1)) == null && g.member(n.output(0)) != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * @param heads H, at least 1
     * @param criterion how heads are scored
     * @param data calibration batches for Taylor, or null
     * @throws IllegalArgumentException for D below 1
     */
    public HeadPass(int heads, FfnRatioPass.Criterion criterion, ImportanceData data) {
        this(new AttentionPruning.Options(checkKeep("heads", heads), criterion, MagnitudeImportance.Norm.L1, 0, data, 0,
                ScoreNormalization.MAX));
    }

    HeadPass(AttentionPruning.Options options) {
        super(ID, "attention layers pruned", "heads removed", "heads", options, GROUPING);
    }

    /** @return this pass with another seed for random importance */
    public HeadPass withSeed(long seed) {
        return new HeadPass(withSeedOptions(seed));
    }

    /**
     * @param data calibration batches for Taylor importance
     * @return a descriptor like {@link #DESCRIPTOR} whose passes read {@code data}
     */
    public static PassDescriptor descriptor(ImportanceData data) {
        return describe(Objects.requireNonNull(data, "data"));
    }

    private static PassDescriptor describe(ImportanceData data) {
        return new PassDescriptor(ID, "remove whole attention heads (Q, K, V and output-projection rows), keeping "
                + "the most important", false, OPTIONS,
                o -> new HeadPass(AttentionPruning.Options.parse(ID, "heads", o, data)));
    }
}
