/**
 * Shape and element-type inference with symbolic dims. {@link dev.slimnx.graph.infer.ShapeInference}
 * is the entry point: {@code infer} computes types without touching the model, {@code annotate}
 * writes them onto untyped intermediate values. Per-op rules live in one class per op family
 * (elementwise, data movement, shape values, linear, conv/pool, reduce, normalization, control
 * flow), registered by op type in {@code Rules}.
 */
package dev.slimnx.graph.infer;
