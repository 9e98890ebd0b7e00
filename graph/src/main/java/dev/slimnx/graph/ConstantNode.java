package dev.slimnx.graph;

import dev.slimnx.graph.tensor.Tensor;

/**
 * Reads the tensor an ONNX {@code Constant} node defines. PyTorch exports most small constants
 * this way rather than as initializers, so shape inference, model statistics and the passes all
 * need the same reading; it lives here once.
 */
public final class ConstantNode {
    private ConstantNode() {
    }

    /**
     * @param node any node
     * @return the value of a default-domain {@code Constant} node, named after its output, or null
     *     for other nodes and for sparse or string-list values
     */
    public static Tensor valueOf(Node node) {
        if (!node.is("Constant") || node.attributes().size() != 1 || node.outputs().isEmpty()) {
            return null;
        }
        Attribute a = node.attributes().get(0);
        String name = node.output(0).name();
        return switch (a.name()) {
            case "value" -> a.value() instanceof Tensor t ? t.withName(name) : null;
            case "value_float" -> Tensor.ofFloats(name, new long[0], a.asFloat());
            case "value_floats" -> Tensor.ofFloats(name, new long[] {a.asFloats().length}, a.asFloats());
            case "value_int" -> Tensor.ofLongs(name, new long[0], a.asInt());
            case "value_ints" -> Tensor.ofLongs(name, new long[] {a.asInts().length}, a.asInts());
            default -> null;
        };
    }
}
