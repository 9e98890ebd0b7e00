package dev.slimnx.graph.infer;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.ValueType;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * What {@link ShapeInference#infer} found, without changing the model: a type for every value it
 * could type, merging what the model declares with what was inferred (the more specific wins dim
 * by dim; on a conflict the declared type is kept and a warning recorded).
 */
public final class InferenceResult {
    private final Map<Value, ValueType> types;
    private final Map<Value, IntVector> values;
    private final List<String> warnings;

    InferenceResult(Map<Value, ValueType> types, Map<Value, IntVector> values, List<String> warnings) {
        this.types = types;
        this.values = values;
        this.warnings = Collections.unmodifiableList(warnings);
    }

    /**
     * @param value a value of the model (any graph, subgraphs included)
     * @return its merged type, or null when neither declared nor inferred
     */
    public ValueType typeOf(Value value) {
        ValueType t = types.get(value);
        return t != null ? t : value.type();
    }

    /** @return the shape of a tensor value, or null when its rank is unknown */
    public Shape shapeOf(Value value) {
        return typeOf(value) instanceof ValueType.TensorType t ? t.shape() : null;
    }

    /** @return the element type of a tensor value, or null when unknown */
    public DataType elemTypeOf(Value value) {
        return typeOf(value) instanceof ValueType.TensorType t && t.elemType() != DataType.UNDEFINED ? t.elemType() : null;
    }

    /**
     * @param value a small integer value (a shape, an index, a Reshape target)
     * @return what is known of its content, or null (e.g. the output of a Shape node)
     */
    public IntVector intsOf(Value value) {
        return values.get(value);
    }

    /** @return conflicts between declared and inferred types, and nodes that could not be inferred */
    public List<String> warnings() {
        return warnings;
    }
}
