package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import java.util.List;

/** Edits on built models that GraphBuilder does not offer once the model is built. */
final class GraphBuilderHelper {
    private GraphBuilderHelper() {
    }

    /** Adds {@code Shape(value)} as an extra graph output, so something reads the value's shape. */
    static void addShapeReader(Model m, String value) {
        Value v = PruneTesting.value(m, value);
        Value s = new Value(m.graph().names().fresh(value + "_shape"));
        Node n = new Node("", "Shape", List.of(v), List.of(s), List.of());
        n.setName("shape_reader");
        m.graph().addNode(n);
        m.graph().addOutput(s);
    }
}
