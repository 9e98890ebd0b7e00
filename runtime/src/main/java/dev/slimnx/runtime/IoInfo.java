package dev.slimnx.runtime;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.Objects;

/**
 * One input or output of a model, as ONNX Runtime sees it.
 *
 * @param name the value's name
 * @param kind tensor, sequence, map, or OTHER for kinds the ONNX Runtime Java API does not describe (optional values)
 * @param elementType element type of a tensor; UNDEFINED for other kinds
 * @param shape shape of a tensor, with symbolic dims (such as {@code batch}) and unknown dims as
 *     the model declares them; null for other kinds
 */
public record IoInfo(String name, Kind kind, DataType elementType, Shape shape) {

    /** What kind of value it is. slimnx exchanges tensors only. */
    public enum Kind {
        /** A dense tensor: the only kind {@link ModelRunner} exchanges. */
        TENSOR,
        /** A sequence of tensors. */
        SEQUENCE,
        /** A map (from ONNX-ML ops). */
        MAP,
        /** Anything the ONNX Runtime Java API does not describe, such as optional values. */
        OTHER
    }

    /**
     * @throws NullPointerException if name, kind or elementType is null, or shape for a tensor
     */
    public IoInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(elementType, "elementType");
        if (kind == Kind.TENSOR) {
            Objects.requireNonNull(shape, "shape of a tensor");
        }
    }

    /** @return true if this is a tensor */
    public boolean isTensor() {
        return kind == Kind.TENSOR;
    }

    /**
     * @return the dims of a tensor, -1 for every dim that is symbolic or unknown
     * @throws IllegalStateException if this is not a tensor
     */
    public long[] dims() {
        if (shape == null) {
            throw new IllegalStateException(name + " is a " + kind + ", not a tensor");
        }
        long[] out = new long[shape.rank()];
        for (int i = 0; i < out.length; i++) {
            Dim d = shape.dim(i);
            out[i] = d.isKnown() ? d.value() : -1;
        }
        return out;
    }

    /** @return e.g. {@code x: FLOAT[batch, 8]} */
    @Override
    public String toString() {
        return name + ": " + (kind == Kind.TENSOR ? elementType + shape.toString() : kind.toString());
    }
}
