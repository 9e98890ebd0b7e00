/**
 * Reverse-mode differentiation of ONNX graphs over slimnx's IR, executed by ONNX Runtime.
 *
 * <p>{@link dev.slimnx.passes.autodiff.GradientBuilder} turns a forward model and a
 * {@link dev.slimnx.passes.autodiff.Loss} into a {@link dev.slimnx.passes.autodiff.GradientModel}:
 * one ONNX graph computing the loss and the gradients of chosen weights, which become graph inputs
 * so a trainer can feed updated values. Each op's {@link dev.slimnx.passes.autodiff.BackwardRule},
 * found in {@link dev.slimnx.passes.autodiff.BackwardRules}, emits its part of the backward graph;
 * the tests check every rule against central finite differences. Taylor importance for pruning and
 * recovery fine-tuning are built on it.
 */
package dev.slimnx.passes.autodiff;
