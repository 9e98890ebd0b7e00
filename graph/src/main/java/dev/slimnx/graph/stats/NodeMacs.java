package dev.slimnx.graph.stats;

/**
 * Multiply-accumulates of one node.
 *
 * @param graph name of the graph the node is in
 * @param index index of the node in that graph
 * @param opType op type
 * @param name node name
 * @param macs multiply-accumulates for one run, dynamic dims taken as 1
 * @param exact false when some dim the count needs was unknown even with dynamic inputs fixed,
 *     and was taken as 1
 */
public record NodeMacs(String graph, int index, String opType, String name, long macs, boolean exact) {
}
