package dev.slimnx.graph.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Objects;

/**
 * Where a tensor's values live. A tensor keeps the storage form the file used (raw bytes, one of
 * the typed value fields, or external data) so that a round trip writes the same fields back.
 */
public sealed interface TensorData {

    /**
     * Little-endian bytes in ONNX raw layout, usually a view into the memory-mapped model file.
     *
     * @param bytes the bytes; stored as a read-only little-endian view
     */
    record Raw(ByteBuffer bytes) implements TensorData {
        public Raw {
            bytes = bytes.asReadOnlyBuffer().order(ByteOrder.LITTLE_ENDIAN);
        }
    }

    /** Which typed field of {@code TensorProto} holds the values. */
    enum Field { NONE, FLOAT_DATA, INT32_DATA, INT64_DATA, DOUBLE_DATA, UINT64_DATA, STRING_DATA }

    /**
     * Values in one typed field of {@code TensorProto} ({@code float_data}, {@code int32_data}, ...).
     *
     * @param field the field
     * @param values {@code float[]}, {@code int[]}, {@code long[]} (also for uint64), {@code double[]},
     *     or {@code List<byte[]>} for strings; never modified
     */
    record Fields(Field field, Object values) implements TensorData {
        /** No values at all: an empty tensor, or one whose data is missing. */
        public static final Fields EMPTY = new Fields(Field.NONE, new int[0]);

        public Fields {
            Objects.requireNonNull(field);
            Objects.requireNonNull(values);
        }

        /** @return the number of entries in the field */
        public int count() {
            return switch (values) {
                case float[] a -> a.length;
                case int[] a -> a.length;
                case long[] a -> a.length;
                case double[] a -> a.length;
                case List<?> l -> l.size();
                default -> throw new IllegalStateException("unexpected values " + values.getClass());
            };
        }
    }

    /**
     * Values stored in another file next to the model, mapped into memory on first use.
     *
     * @param location the checked reference to the file region
     */
    record External(ExternalLocation location) implements TensorData {
        public External {
            Objects.requireNonNull(location);
        }
    }
}
