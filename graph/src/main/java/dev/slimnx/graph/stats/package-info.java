/**
 * What a model costs: parameters, initializer bytes, multiply-accumulates per node, op counts and
 * the largest tensors. {@link dev.slimnx.graph.stats.ModelStats} is what {@code slimnx inspect}
 * prints and what reports compare between a baseline and a compressed model.
 */
package dev.slimnx.graph.stats;
