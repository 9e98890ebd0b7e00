/**
 * Training on ONNX Runtime: fine-tuning a model's weights with the gradient models of
 * {@link dev.slimnx.passes.autodiff}, for recovery after compression.
 *
 * <p>{@link dev.slimnx.passes.train.Trainer} runs epochs of {@link dev.slimnx.passes.train.TrainingData}
 * through a {@link dev.slimnx.passes.train.TrainingSession} (the gradient model in one ONNX Runtime
 * session, the weights in Java), with an {@link dev.slimnx.passes.train.Optimizer} (SGD with momentum,
 * AdamW), a {@link dev.slimnx.passes.train.LearningRateSchedule} (cosine with linear warm-up),
 * {@link dev.slimnx.passes.train.GradientClipping}, optional
 * {@link dev.slimnx.passes.train.Distillation} from a teacher, frozen weights, and atomic
 * {@link dev.slimnx.passes.train.Checkpoints}. This package reads no datasets itself: callers turn
 * theirs into feed maps (the command line does it from the validator's datasets).
 */
package dev.slimnx.passes.train;
