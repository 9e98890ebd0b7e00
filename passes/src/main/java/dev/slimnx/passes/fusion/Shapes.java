package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.ValueType;

/**
 * Types of a model's values, inferred on first need: a rule asks only after its structural checks
 * passed, so a model with no candidate site is never inferred.
 *
 * <p>NOTE: the inference is made once per run. Fusions keep the values they read (they only replace
 * a pattern's last output), and each fused output gets the type of the value it replaces (see
 * {@link #typeFor}), so later sites that read a fused output still see its rank.
 */
final class Shapes {
    private final Model model;
    private InferenceResult result;

    Shapes(Model model) {
        this.model = model;
    }

    private InferenceResult result() {
        if (result == null) {
            result = ShapeInference.infer(model);
        }
        return result;
    }

    /** @return the shape, or null when the rank is unknown */
    Shape shape(Value v) {
        return result().shapeOf(v);
    }

    /** @return the rank, or -1 when unknown */
    int rank(Value v) {
        Shape s = shape(v);
        return s == null ? -1 : s.rank();
    }

    /** @return the element type, or null when unknown */
    DataType elemType(Value v) {
        return result().elemTypeOf(v);
    }

    /**
     * @param replaced the value a fused node's output takes the place of
     * @return the type to give that output: the declared one (a graph output keeps its declaration),
     *     else the inferred one, else null
     */
    ValueType typeFor(Value replaced) {
        return replaced.type() != null ? replaced.type() : result().typeOf(replaced);
    }
}
