package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.IntVector;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.Objects;

/**
 * What is known at build time about the forward graph's values: inferred types and shapes (symbolic
 * dims carried) and constant contents. Backward rules read it to choose static forms (a constant
 * shape instead of a {@code Shape} node) and to refuse, up front, nodes they cannot differentiate.
 *
 * <p>NOTE: only forward values are described. A gradient always has the shape of the value it is
 * the gradient of, so rules never need the types of the backward values they emit.
 */
public final class ForwardInfo {
    private final InferenceResult types;
    private final long opset;

    /**
     * @param types shape inference over the forward graph
     * @param opset the model's default-domain opset version
     */
    public ForwardInfo(InferenceResult types, long opset) {
        this.types = Objects.requireNonNull(types);
        this.opset = opset;
    }

    /** @return the model's default-domain opset version, which the backward nodes are written for */
    public long opset() {
        return opset;
    }

    /**
     * @param v a forward value
     * @return its shape, or null when its rank is unknown
     */
    public Shape shape(Value v) {
        return types.shapeOf(v);
    }

    /**
     * @param v a forward value
     * @return its rank, or -1 when unknown
     */
    public int rank(Value v) {
        Shape s = shape(v);
        return s == null ? -1 : s.rank();
    }

    /**
     * @param v a forward value
     * @param axis an axis, negative counting from the end
     * @return the dim, or null when the rank is unknown
     */
    public Dim dim(Value v, int axis) {
        Shape s = shape(v);
        return s == null ? null : s.dim(axis);
    }

    /**
     * @param v a forward value
     * @return its element type, or null when unknown
     */
    public DataType elemType(Value v) {
        return types.elemTypeOf(v);
    }

    /**
     * @param v a value, possibly null
     * @return its constant content (an initializer that is not a graph input, or a {@code Constant}
     *     node's output), or null
     */
    public Tensor constant(Value v) {
        return v == null ? null : GraphEdits.constant(v);
    }

    /**
     * @param v a value, possibly null
     * @return the content of an integer constant, or null when it is not one
     */
    public long[] constantLongs(Value v) {
        Tensor t = constant(v);
        return t != null && t.dataType().isInteger() ? t.toLongArray() : null;
    }

    /**
     * @param v a value, possibly null
     * @return the content of an integer constant, or of an integer value whose every entry shape
     *     inference worked out (a Slice bound computed from the static dims of a {@code Shape}, as
     *     PyTorch exports {@code x[:, :C // 2]}); null otherwise
     */
    public long[] knownLongs(Value v) {
        long[] c = constantLongs(v);
        if (c != null || v == null) {
            return c;
        }
        IntVector known = types.intsOf(v);
        return known != null && known.isKnown() ? known.longs() : null;
    }

    /**
     * @param axis an axis, negative counting from the end
     * @param rank the rank
     * @return the axis in [0, rank)
     * @throws IllegalArgumentException when out of range
     */
    public static int normalizeAxis(long axis, int rank) {
        long a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) {
            throw new IllegalArgumentException("axis " + axis + " out of range for rank " + rank);
        }
        return (int) a;
    }
}
