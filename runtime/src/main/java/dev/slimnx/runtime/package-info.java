/**
 * ONNX Runtime behind one small interface.
 *
 * <p>{@link dev.slimnx.runtime.ModelRunner} runs an IR {@link dev.slimnx.graph.Model} (serialized in
 * memory, no temporary file) or an ONNX file, on the CPU or on CUDA, with the thread count and
 * graph optimization level of a {@link dev.slimnx.runtime.RunOptions}. Inputs and outputs are IR
 * {@link dev.slimnx.graph.tensor.Tensor}s. Every failure is a {@link dev.slimnx.runtime.RuntimeFailure}
 * that names the model and, for bad inputs, what was expected.
 *
 * <p>This is the only package of slimnx that touches {@code ai.onnxruntime}; no ONNX Runtime type
 * appears in its public API.
 */
package dev.slimnx.runtime;
