/**
 * Structural validation of a model against the ONNX rules slimnx relies on: SSA, scoping,
 * topological order, operator arity, required attributes and opset availability. Passes run it in
 * tests after every rewrite, so a broken graph is caught where it was made rather than when ONNX
 * Runtime refuses it.
 */
package dev.slimnx.graph.check;
