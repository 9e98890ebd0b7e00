/**
 * The slimnx graph IR: {@link dev.slimnx.graph.Model}, {@link dev.slimnx.graph.Graph},
 * {@link dev.slimnx.graph.Node} and {@link dev.slimnx.graph.Value} in SSA form.
 *
 * <p>A value has at most one producer and a use-list that only node mutators change; graph
 * containers keep each value's input/initializer/output flags in step. Nothing here knows about
 * protobuf or ONNX Runtime: {@code dev.slimnx.graph.io} is the only package that reads and writes
 * files. Fields of ONNX this IR does not interpret travel as {@link dev.slimnx.graph.tensor.OpaqueFields}
 * so that load → save loses nothing.
 */
package dev.slimnx.graph;
