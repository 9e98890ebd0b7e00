package dev.slimnx.graph.stats;

import dev.slimnx.graph.tensor.DataType;
import java.util.Arrays;

/**
 * One initializer, as the "largest tensors" list shows it.
 *
 * @param name initializer name
 * @param dataType element type
 * @param dims dims
 * @param bytes bytes in raw layout
 */
public record TensorSize(String name, DataType dataType, long[] dims, long bytes) {
    public TensorSize {
        dims = dims.clone();
    }

    @Override
    public long[] dims() {
        return dims.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorSize t && t.name.equals(name) && t.dataType == dataType
                && Arrays.equals(t.dims, dims) && t.bytes == bytes;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(dims);
    }

    @Override
    public String toString() {
        return name + " " + dataType + Arrays.toString(dims) + " " + bytes + " B";
    }
}
