/**
 * ONNX files in and out: the only protobuf-aware package. {@link dev.slimnx.graph.io.OnnxReader}
 * maps the file and parses it with aliasing, checks it (sizes against dims, external-data
 * locations, single definitions, cycles) and reports problems with the field path;
 * {@link dev.slimnx.graph.io.OnnxWriter} writes atomically and streams weights from where they live.
 * The schema is slimnx's own {@code onnx.proto}, written from the ONNX specification.
 */
package dev.slimnx.graph.io;
