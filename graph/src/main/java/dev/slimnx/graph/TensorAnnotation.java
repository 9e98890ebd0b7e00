package dev.slimnx.graph;

import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.StringPair;
import java.util.List;

/**
 * A {@code GraphProto.quantization_annotation} entry: which tensors hold a value's quantization
 * parameters.
 *
 * @param tensorName the annotated value
 * @param parameters parameter names (e.g. SCALE_TENSOR, ZERO_POINT_TENSOR) to tensor names
 * @param extra uninterpreted fields
 */
public record TensorAnnotation(String tensorName, List<StringPair> parameters, OpaqueFields extra) {
    public TensorAnnotation {
        parameters = List.copyOf(parameters);
    }
}
