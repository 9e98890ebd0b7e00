package dev.slimnx.graph.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * Converts between ONNX's storage forms and Java arrays: typed {@code TensorProto} fields to raw
 * layout, and raw layout to float, double or long values. The rules are those of the ONNX spec:
 * 8/16-bit types and float8 sit one per {@code int32_data} entry, 4-bit and 2-bit types are packed
 * into bytes (low bits first) with one packed byte per {@code int32_data} entry, UINT32 sits in
 * {@code uint64_data}.
 */
public final class TensorCodec {
    private TensorCodec() {
    }

    /**
     * @param type element type
     * @param count number of elements
     * @param fields typed field values
     * @return a new little-endian buffer in raw layout, positioned at 0
     */
    public static ByteBuffer encodeFields(DataType type, long count, TensorData.Fields fields) {
        if (fields.field() == TensorData.Field.NONE || fields.field() == TensorData.Field.STRING_DATA) {
            return ByteBuffer.allocate(0).order(ByteOrder.LITTLE_ENDIAN);
        }
        int width = type.bits();
        ByteBuffer out = ByteBuffer.allocate(Math.toIntExact(type.byteSize(count))).order(ByteOrder.LITTLE_ENDIAN);
        switch (fields.values()) {
            case float[] a -> {
                for (float v : a) {
                    if (out.remaining() >= 4) {
                        out.putFloat(v);
                    }
                }
            }
            case double[] a -> {
                for (double v : a) {
                    if (out.remaining() >= 8) {
                        out.putDouble(v);
                    }
                }
            }
            case long[] a -> {
                for (long v : a) {
                    if (width == 32 && out.remaining() >= 4) {
                        out.putInt((int) v);
                    } else if (width == 64 && out.remaining() >= 8) {
                        out.putLong(v);
                    }
                }
            }
            case int[] a -> {
                for (int v : a) {
                    if (width >= 32 && out.remaining() >= 4) {
                        out.putInt(v);
                    } else if (width == 16 && out.remaining() >= 2) {
                        out.putShort((short) v);
                    } else if (width <= 8 && out.hasRemaining()) {
                        out.put((byte) v); // 8-bit values, or one packed byte of 4/2-bit values
                    }
                }
            }
            default -> throw new IllegalStateException("unexpected field values " + fields.values().getClass());
        }
        return out.position(0);
    }

    /**
     * @param type element type of the values
     * @param raw raw layout
     * @param n number of elements
     * @return the values as floats
     */
    public static float[] decodeFloats(DataType type, ByteBuffer raw, int n) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        float[] out = new float[n];
        if (type == DataType.FLOAT) {
            b.asFloatBuffer().get(out);
            return out;
        }
        for (int i = 0; i < n; i++) {
            out[i] = (float) real(type, b, i);
        }
        return out;
    }

    /**
     * @param type element type of the values
     * @param raw raw layout
     * @param n number of elements
     * @return the values as doubles
     */
    public static double[] decodeDoubles(DataType type, ByteBuffer raw, int n) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = real(type, b, i);
        }
        return out;
    }

    /**
     * @param type element type of the values
     * @param raw raw layout
     * @param n number of elements
     * @return the values as longs (floating-point values truncated toward zero)
     */
    public static long[] decodeLongs(DataType type, ByteBuffer raw, int n) {
        ByteBuffer b = raw.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = type.isFloatingPoint() ? (long) real(type, b, i) : integer(type, b, i);
        }
        return out;
    }

    private static long integer(DataType type, ByteBuffer b, int i) {
        int base = b.position();
        return switch (type) {
            case INT8 -> b.get(base + i);
            case UINT8, BOOL -> b.get(base + i) & 0xFF;
            case INT16 -> b.getShort(base + 2 * i);
            case UINT16 -> b.getShort(base + 2 * i) & 0xFFFF;
            case INT32 -> b.getInt(base + 4 * i);
            case UINT32 -> b.getInt(base + 4 * i) & 0xFFFFFFFFL;
            case INT64, UINT64 -> b.getLong(base + 8 * i);
            case INT4, UINT4 -> {
                int nibble = (b.get(base + i / 2) >> ((i & 1) * 4)) & 0xF;
                yield type == DataType.INT4 ? (nibble << 28) >> 28 : nibble;
            }
            case INT2, UINT2 -> {
                int crumb = (b.get(base + i / 4) >> ((i & 3) * 2)) & 0x3;
                yield type == DataType.INT2 ? (crumb << 30) >> 30 : crumb;
            }
            default -> throw new IllegalArgumentException("not an integer type: " + type);
        };
    }

    private static double real(DataType type, ByteBuffer b, int i) {
        int base = b.position();
        return switch (type) {
            case FLOAT -> b.getFloat(base + 4 * i);
            case DOUBLE -> b.getDouble(base + 8 * i);
            case FLOAT16 -> Float.float16ToFloat(b.getShort(base + 2 * i));
            case BFLOAT16 -> Float.intBitsToFloat((b.getShort(base + 2 * i) & 0xFFFF) << 16);
            case FLOAT8E4M3FN, FLOAT8E4M3FNUZ, FLOAT8E5M2, FLOAT8E5M2FNUZ, FLOAT8E8M0 ->
                    MiniFloat.decode(type, b.get(base + i) & 0xFF);
            case FLOAT4E2M1 -> MiniFloat.decode(type, (b.get(base + i / 2) >> ((i & 1) * 4)) & 0xF);
            case UINT64 -> {
                long v = b.getLong(base + 8 * i);
                yield v >= 0 ? v : (double) (v >>> 1) * 2.0 + (v & 1);
            }
            case COMPLEX64, COMPLEX128, STRING, UNDEFINED ->
                    throw new IllegalArgumentException("no real value for " + type);
            default -> integer(type, b, i);
        };
    }

    /**
     * @param values strings
     * @return the values as typed-field storage
     */
    public static TensorData.Fields stringFields(List<byte[]> values) {
        return new TensorData.Fields(TensorData.Field.STRING_DATA, List.copyOf(values));
    }
}
