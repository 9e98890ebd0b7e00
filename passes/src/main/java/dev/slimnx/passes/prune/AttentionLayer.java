package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;

/**
 * One attention product {@code softmax(Q·Kᵀ·s + mask)} of a model, found by {@link AttentionFinder}.
 *
 * @param name the Q·Kᵀ MatMul's name
 * @param scores the Q·Kᵀ MatMul: input 0 is Q with its per-head dims on the last axis, input 1 is Kᵀ
 * @param heads heads the product computes at once (the length of its head axis; 1 for a product
 *     without one, as in EfficientViT's cascaded heads)
 * @param headAxis the head axis of Q, or -1 when the product has none
 * @param qkDim Q's (and K's) per-head dimension
 */
public record AttentionLayer(String name, Node scores, int heads, int headAxis, int qkDim) {
}
