package dev.slimnx.graph.tensor;

import java.util.Objects;

/**
 * ONNX's {@code SparseTensorProto}: non-zero values, their indices (flat [NNZ] or coordinate
 * [NNZ, rank]) and the dense dims.
 *
 * @param values the non-zero values; its name names the sparse tensor
 * @param indices int64 indices
 * @param dims dense shape
 * @param extra uninterpreted fields
 */
public record SparseTensor(Tensor values, Tensor indices, long[] dims, OpaqueFields extra) {
    public SparseTensor {
        Objects.requireNonNull(extra);
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    /** @return the name (that of the values tensor) */
    public String name() {
        return values == null ? "" : values.name();
    }
}
