/**
 * Tensors and types: immutable {@link dev.slimnx.graph.tensor.Tensor}s whose data stays where it
 * was read (a view into the memory-mapped model, a typed protobuf field, or an external file mapped
 * on first use), element {@link dev.slimnx.graph.tensor.DataType}s, and shapes with known,
 * symbolic and unknown dims.
 */
package dev.slimnx.graph.tensor;
