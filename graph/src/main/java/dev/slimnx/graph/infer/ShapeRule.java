package dev.slimnx.graph.infer;

/**
 * Infers the output types of one op (or a family of ops) from what {@link NodeContext} knows about
 * the inputs. A rule sets what it can determine and leaves the rest unknown; it throws only when the
 * node is inconsistent, and the engine turns that into a warning.
 */
@FunctionalInterface
interface ShapeRule {
    void infer(NodeContext ctx);
}
