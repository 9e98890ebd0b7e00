package dev.slimnx.passes.prune;

import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Shrinks the per-head Q/K dimension of every attention product to {@code D}, keeping the most
 * important dims: the EfficientViT paper's finding that Q and K are redundant while V is not.
 *
 * <p>Math: the attention logits are {@code s·Σ_j q_j·k_j} over the per-head dims {@code j}.
 * Removing dim {@code j} from Q and from K together removes one term of that sum and nothing
 * else, so Q and K shrink as one channel group (the Q·Kᵀ contraction pair), V and the output
 * projection are untouched. NOTE: the softmax scale {@code s} (a constant {@code 1/√d} Mul or Div)
 * stays as the model was trained with: rescaling it to {@code 1/√D} would change every logit,
 * while keeping it changes the function only through the removed terms.
 *
 * <p>Where it fires: every product {@link AttentionFinder} finds whose Q/K group
 * ({@link ChannelDependencies}, seeded at Q's last axis) can be pruned. Fused {@code qkv}
 * projections are split first ({@link FusedProjections}). With heads side by side on one axis
 * ({@code Reshape} into {@code [B, T, H, d]}: ViT, DeepViT, MemViT, NaViT, MobileViT, DETR) the
 * same dims are kept in every head (a Reshape needs one head size), scored over all heads;
 * EfficientViT's cascaded heads are separate products, so each head keeps its own dims, and its
 * depthwise token-interaction conv on Q shrinks with them (its {@code group} rewritten).
 *
 * <p>When it does not: a product whose group is refused is reported in
 * {@link PruneReport#refused()} and left alone; a product already at or below {@code D} is left
 * alone; a model without any Q·Kᵀ product (MobileViTv2's separable attention) is refused. In the
 * report, a group's {@code inputWidth} is the product's head count.
 */
public final class QkDimPass extends AttentionWidthPass {
    /** The pass id. */
    public static final String ID = "prune-qk";

    private static final List<PassOption> OPTIONS;

    static {
        List<PassOption> o = new ArrayList<>();
        o.add(new PassOption("qk-dim", "per-head Q/K dimension to keep", "8"));
        o.addAll(AttentionPruning.COMMON_OPTIONS);
        OPTIONS = List.copyOf(o);
    }

    /** How the CLI and recipes find this pass; without data, Taylor importance refuses (see {@link #descriptor}). */
    public static final PassDescriptor DESCRIPTOR = describe(null);

    private static final AttentionPruning.Grouping GROUPING = new AttentionPruning.Grouping() {
        @Override
        public ChannelGroup groupOf(AttentionLayer layer, ChannelDependencies deps, String[] refusal) {
            return deps.groupOf(layer.scores().input(0), -1);
        }

        @Override
        public int width(AttentionLayer layer) {
            return layer.qkDim();
        }

        @Override
        public int inputWidth(AttentionLayer layer) {
            return layer.heads();
        }
    };

    /**
     * @param qkDim D, at least 1
     * @param criterion how dims are scored
     * @param data calibration batches for Taylor, or null
     * @throws IllegalArgumentException for D below 1
     */
    public QkDimPass(int qkDim, FfnRatioPass.Criterion criterion, ImportanceData data) {
        this(new AttentionPruning.Options(checkKeep("qk-dim", qkDim), criterion, MagnitudeImportance.Norm.L1, 0, data, 0,
                ScoreNormalization.MAX));
    }

    QkDimPass(AttentionPruning.Options options) {
        super(ID, "attention Q/K pairs pruned", "per-head dims removed", "qk-dim", options, GROUPING);
    }

    /** @return this pass with another seed for random importance */
    public QkDimPass withSeed(long seed) {
        return new QkDimPass(withSeedOptions(seed));
    }

    /**
     * @param data calibration batches for Taylor importance
     * @return a descriptor like {@link #DESCRIPTOR} whose passes read {@code data}
     */
    public static PassDescriptor descriptor(ImportanceData data) {
        return describe(Objects.requireNonNull(data, "data"));
    }

    private static PassDescriptor describe(ImportanceData data) {
        return new PassDescriptor(ID, "shrink every attention's per-head Q/K dimension, keeping the most important "
                + "dims (V untouched)", false, OPTIONS,
                o -> new QkDimPass(AttentionPruning.Options.parse(ID, "qk-dim", o, data)));
    }
}
