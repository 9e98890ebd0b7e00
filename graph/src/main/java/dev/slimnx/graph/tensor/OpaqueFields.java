package dev.slimnx.graph.tensor;

import java.util.Arrays;

/**
 * Encoded protobuf fields that this version of slimnx does not interpret (fields added to ONNX
 * after this schema, or vendor extensions). The IR carries them untouched so that load → save
 * loses nothing; only the serializer looks inside.
 */
public final class OpaqueFields {
    /** No fields. */
    public static final OpaqueFields NONE = new OpaqueFields(new byte[0]);

    private final byte[] bytes;

    private OpaqueFields(byte[] bytes) {
        this.bytes = bytes;
    }

    /**
     * @param bytes the encoded fields (copied)
     * @return the wrapper, or {@link #NONE} for no bytes
     */
    public static OpaqueFields of(byte[] bytes) {
        return bytes.length == 0 ? NONE : new OpaqueFields(bytes.clone());
    }

    /** @return true if there are no fields */
    public boolean isEmpty() {
        return bytes.length == 0;
    }

    /** @return a copy of the encoded fields */
    public byte[] bytes() {
        return bytes.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof OpaqueFields f && Arrays.equals(f.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(bytes);
    }

    @Override
    public String toString() {
        return "OpaqueFields[" + bytes.length + " bytes]";
    }
}
