package dev.slimnx.graph.schema;

/**
 * Constants the {@link OpSchema} table uses inside its constant declarations, where Java does not
 * allow the enum's own static fields to be named yet.
 */
final class SchemaNames {
    /** Unbounded arity. */
    static final int N = Integer.MAX_VALUE;
    /** The classical-ML domain. */
    static final String ML = "ai.onnx.ml";
    /** The training domain. */
    static final String TRAINING = "ai.onnx.preview.training";

    private SchemaNames() {
    }
}
