package dev.slimnx.graph.tensor;

import java.util.Optional;

/**
 * Element types of ONNX tensors, with the codes of {@code TensorProto.DataType}.
 *
 * <p>{@link #bits()} is the storage width of one element in {@code raw_data}: 4-bit types pack two
 * elements per byte (low nibble first), BOOL takes one byte, STRING has no fixed width.
 */
public enum DataType {
    UNDEFINED(0, 0),
    FLOAT(1, 32),
    UINT8(2, 8),
    INT8(3, 8),
    UINT16(4, 16),
    INT16(5, 16),
    INT32(6, 32),
    INT64(7, 64),
    STRING(8, 0),
    BOOL(9, 8),
    FLOAT16(10, 16),
    DOUBLE(11, 64),
    UINT32(12, 32),
    UINT64(13, 64),
    COMPLEX64(14, 64),
    COMPLEX128(15, 128),
    BFLOAT16(16, 16),
    FLOAT8E4M3FN(17, 8),
    FLOAT8E4M3FNUZ(18, 8),
    FLOAT8E5M2(19, 8),
    FLOAT8E5M2FNUZ(20, 8),
    UINT4(21, 4),
    INT4(22, 4),
    FLOAT4E2M1(23, 4),
    FLOAT8E8M0(24, 8),
    UINT2(25, 2),
    INT2(26, 2);

    private static final DataType[] BY_CODE = new DataType[27];

    static {
        for (DataType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final int bits;

    DataType(int code, int bits) {
        this.code = code;
        this.bits = bits;
    }

    /** @return the {@code TensorProto.DataType} code */
    public int code() {
        return code;
    }

    /** @return bits one element takes in raw storage; 0 for STRING and UNDEFINED */
    public int bits() {
        return bits;
    }

    /**
     * @param code a {@code TensorProto.DataType} code
     * @return the type, or empty for a code this version does not know
     */
    public static Optional<DataType> fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? Optional.ofNullable(BY_CODE[code]) : Optional.empty();
    }

    /**
     * @param elements number of elements
     * @return bytes that many elements take in {@code raw_data} (sub-byte types round up)
     * @throws ArithmeticException if the size does not fit in a long
     * @throws IllegalStateException for STRING and UNDEFINED
     */
    public long byteSize(long elements) {
        if (bits == 0) {
            throw new IllegalStateException(this + " has no fixed element size");
        }
        long totalBits = Math.multiplyExact(elements, (long) bits);
        return (totalBits + 7) / 8;
    }

    /**
     * @return the conventional short name used in reports: {@code float32}, {@code float16},
     *     {@code int8}, {@code bool}, ... (lower-case ONNX name, with the bit width for FLOAT and DOUBLE)
     */
    public String shortName() {
        return switch (this) {
            case FLOAT -> "float32";
            case DOUBLE -> "float64";
            default -> name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    /** @return true for the IEEE and ML floating-point types (not complex) */
    public boolean isFloatingPoint() {
        return switch (this) {
            case FLOAT, DOUBLE, FLOAT16, BFLOAT16, FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ,
                 FLOAT4E2M1, FLOAT8E8M0 -> true;
            default -> false;
        };
    }

    /** @return true for signed and unsigned integer types (BOOL excluded) */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, INT32, INT64, UINT32, UINT64, UINT4, INT4, UINT2, INT2 -> true;
            default -> false;
        };
    }
}
