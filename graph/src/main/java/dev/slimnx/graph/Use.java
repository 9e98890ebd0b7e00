package dev.slimnx.graph;

/**
 * One use of a value: the node that reads it and the input slot it reads it through.
 *
 * @param node the consumer
 * @param inputIndex the input slot of the consumer
 */
public record Use(Node node, int inputIndex) {
}
