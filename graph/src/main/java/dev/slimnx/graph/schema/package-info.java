/**
 * What slimnx knows about ONNX operators independently of any model: {@link
 * dev.slimnx.graph.schema.OpSchema}, the table of op types, their opset history, arity and
 * required attributes. The checker and passes consult it; nothing here reads or changes a graph.
 */
package dev.slimnx.graph.schema;
