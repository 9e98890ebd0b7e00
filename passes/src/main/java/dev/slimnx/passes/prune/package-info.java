/**
 * Structured pruning on ONNX graphs: channels are physically removed from weights, activations and
 * shape constants, so the pruned model is smaller and faster in any runtime.
 *
 * <ul>
 *   <li>Dependencies: {@link dev.slimnx.passes.prune.ChannelDependencies} finds a
 *       {@link dev.slimnx.passes.prune.ChannelGroup}, the closure of the channels coupled to a
 *       seed, with a worklist and per-op {@link dev.slimnx.passes.prune.ChannelHandler}s
 *       ({@link dev.slimnx.passes.prune.ChannelHandlers}); where the channels sit along each axis
 *       is a {@link dev.slimnx.passes.prune.ChannelMap}. What the analysis cannot follow refuses
 *       the group, with the node and op named.</li>
 *   <li>Mechanics: {@link dev.slimnx.passes.prune.ChannelPruner} applies a keep-set to a group,
 *       slicing constants, shrinking declared shapes and rewriting shape constants, all checks
 *       before the first change.</li>
 *   <li>Importance: {@link dev.slimnx.passes.prune.Importance} with first-order
 *       {@link dev.slimnx.passes.prune.TaylorImportance} (gradients from the autodiff package),
 *       {@link dev.slimnx.passes.prune.MagnitudeImportance} and
 *       {@link dev.slimnx.passes.prune.RandomImportance}.</li>
 *   <li>Passes: {@link dev.slimnx.passes.prune.FfnRatioPass} ({@code prune-ffn}) prunes every FFN
 *       hidden layer ({@link dev.slimnx.passes.prune.FfnFinder}) to a ratio of its input width and
 *       reports what it did ({@link dev.slimnx.passes.prune.PruneReport});
 *       {@link dev.slimnx.passes.prune.QkDimPass} ({@code prune-qk}) shrinks the per-head Q/K
 *       dimension and {@link dev.slimnx.passes.prune.HeadPass} ({@code prune-heads}) removes whole
 *       heads of the attention products {@link dev.slimnx.passes.prune.AttentionFinder} finds,
 *       fused {@code qkv} projections split first.</li>
 * </ul>
 */
package dev.slimnx.passes.prune;
