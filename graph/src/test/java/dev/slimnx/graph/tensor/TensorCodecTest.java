package dev.slimnx.graph.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Decoding of the narrow float and integer types against hand-computed values, and typed fields to raw layout. */
class TensorCodecTest {

    private static double[] decode(DataType type, int n, int... bytes) {
        ByteBuffer b = ByteBuffer.allocate(bytes.length).order(ByteOrder.LITTLE_ENDIAN);
        for (int x : bytes) {
            b.put((byte) x);
        }
        return TensorCodec.decodeDoubles(type, b.flip(), n);
    }

    private static int[] le16(int... values) {
        int[] out = new int[values.length * 2];
        for (int i = 0; i < values.length; i++) {
            out[2 * i] = values[i] & 0xFF;
            out[2 * i + 1] = (values[i] >> 8) & 0xFF;
        }
        return out;
    }

    /** Compares bit patterns so that -0.0 and NaN are checked exactly. */
    private static void assertBits(double[] expected, double[] actual) {
        assertEquals(expected.length, actual.length);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Double.doubleToLongBits(expected[i]), Double.doubleToLongBits(actual[i]),
                    "element " + i + ": expected " + expected[i] + " but was " + actual[i]);
        }
    }

    private static final double NAN = Double.NaN;
    private static final double INF = Double.POSITIVE_INFINITY;

    @Test
    void float16() {
        assertBits(new double[] {1, -2, 65504, Math.pow(2, -24), Math.pow(2, -14), INF, -INF, NAN, -0.0, 0.333251953125},
                decode(DataType.FLOAT16, 10, le16(0x3C00, 0xC000, 0x7BFF, 0x0001, 0x0400, 0x7C00, 0xFC00, 0x7E00,
                        0x8000, 0x3555)));
    }

    @Test
    void bfloat16() {
        assertBits(new double[] {1, -3, 3.140625, Math.pow(2, -133), INF, -0.0},
                decode(DataType.BFLOAT16, 6, le16(0x3F80, 0xC040, 0x4049, 0x0001, 0x7F80, 0x8000)));
    }

    @Test
    void float8e4m3fn() {
        // bias 7, no infinity, S.1111.111 is NaN.
        assertBits(new double[] {1, -1, 448, Math.pow(2, -9), Math.pow(2, -6), NAN, NAN, -0.0, 0.0},
                decode(DataType.FLOAT8E4M3FN, 9, 0x38, 0xB8, 0x7E, 0x01, 0x08, 0x7F, 0xFF, 0x80, 0x00));
    }

    @Test
    void float8e4m3fnuz() {
        // bias 8, the negative-zero pattern is NaN, 0x7F is the largest value.
        assertBits(new double[] {1, 240, Math.pow(2, -10), NAN, -1},
                decode(DataType.FLOAT8E4M3FNUZ, 5, 0x40, 0x7F, 0x01, 0x80, 0xC0));
    }

    @Test
    void float8e5m2() {
        // bias 15, IEEE-like: exponent 31 is infinity or NaN.
        assertBits(new double[] {1, 57344, Math.pow(2, -16), INF, -INF, NAN, -2},
                decode(DataType.FLOAT8E5M2, 7, 0x3C, 0x7B, 0x01, 0x7C, 0xFC, 0x7D, 0xC0));
    }

    @Test
    void float8e5m2fnuz() {
        assertBits(new double[] {1, 57344, Math.pow(2, -17), NAN, -0.5},
                decode(DataType.FLOAT8E5M2FNUZ, 5, 0x40, 0x7F, 0x01, 0x80, 0xBC));
    }

    @Test
    void float8e8m0() {
        assertBits(new double[] {1, 2, 0.5, Math.pow(2, -127), Math.pow(2, 127), NAN},
                decode(DataType.FLOAT8E8M0, 6, 127, 128, 126, 0, 254, 255));
    }

    @Test
    void float4e2m1PackedLowNibbleFirst() {
        // Nibbles: 0x1 = 0.5, 0x7 = 6, 0x2 = 1, 0x3 = 1.5, 0x4 = 2, 0x5 = 3, 0x6 = 4, 0x8 = -0, 0xF = -6; odd count.
        assertBits(new double[] {0.5, 6, 1, 1.5, 2, 3, 4, -0.0, -6},
                decode(DataType.FLOAT4E2M1, 9, 0x71, 0x32, 0x54, 0x86, 0x0F));
    }

    @Test
    void int4AndUint4() {
        ByteBuffer b = ByteBuffer.wrap(new byte[] {(byte) 0x8F, 0x70, 0x05});
        assertArrayEquals(new long[] {-1, -8, 0, 7, 5}, TensorCodec.decodeLongs(DataType.INT4, b, 5));
        assertArrayEquals(new long[] {15, 8, 0, 7, 5}, TensorCodec.decodeLongs(DataType.UINT4, b, 5));
        assertArrayEquals(new float[] {-1, -8, 0, 7, 5}, TensorCodec.decodeFloats(DataType.INT4, b, 5));
    }

    @Test
    void int2AndUint2() {
        ByteBuffer b = ByteBuffer.wrap(new byte[] {(byte) 0b11_10_01_00, 0b10});
        assertArrayEquals(new long[] {0, 1, 2, 3, 2}, TensorCodec.decodeLongs(DataType.UINT2, b, 5));
        assertArrayEquals(new long[] {0, 1, -2, -1, -2}, TensorCodec.decodeLongs(DataType.INT2, b, 5));
    }

    @Test
    void unsignedWideIntegers() {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(-1L).flip();
        assertArrayEquals(new double[] {18446744073709551615.0}, TensorCodec.decodeDoubles(DataType.UINT64, b, 1));
        assertArrayEquals(new long[] {0xFFFF_FFFFL, 0xFFFF_FFFFL}, TensorCodec.decodeLongs(DataType.UINT32, b, 2));
        assertArrayEquals(new long[] {65535, 65535, 65535, 65535}, TensorCodec.decodeLongs(DataType.UINT16, b, 4));
        assertArrayEquals(new long[] {-1, -1}, TensorCodec.decodeLongs(DataType.INT16, b, 2));
    }

    @Test
    void decodingIgnoresTheBufferPositionBeforeIt() {
        ByteBuffer b = ByteBuffer.wrap(new byte[] {9, 9, 0x00, 0x3C}).position(2).slice();
        assertArrayEquals(new float[] {1f}, TensorCodec.decodeFloats(DataType.FLOAT16, b, 1));
        ByteBuffer positioned = ByteBuffer.wrap(new byte[] {9, 9, 0x00, 0x3C}).position(2);
        assertArrayEquals(new float[] {1f}, TensorCodec.decodeFloats(DataType.FLOAT16, positioned, 1));
    }

    @Test
    void complexHasNoRealValue() {
        ByteBuffer b = ByteBuffer.allocate(8);
        assertThrows(IllegalArgumentException.class, () -> TensorCodec.decodeDoubles(DataType.COMPLEX64, b, 1));
    }

    // ---- typed fields to raw layout ----

    private static Tensor fields(DataType type, long[] dims, TensorData.Field field, Object values) {
        return new Tensor("t", type.code(), dims, new TensorData.Fields(field, values), "", List.of(), null,
                OpaqueFields.NONE);
    }

    private static byte[] raw(Tensor t) {
        ByteBuffer b = t.rawBytes();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }

    @Test
    void int32DataNarrowsToTheElementWidth() {
        assertArrayEquals(bytes(0x00, 0x3C, 0x00, 0xC0), raw(fields(DataType.FLOAT16, new long[] {2},
                TensorData.Field.INT32_DATA, new int[] {0x3C00, 0xC000})));
        assertArrayEquals(bytes(0x80, 0x3F), raw(fields(DataType.BFLOAT16, new long[] {1},
                TensorData.Field.INT32_DATA, new int[] {0x3F80})));
        assertArrayEquals(bytes(0xFF, 0x7F, 0x80), raw(fields(DataType.INT8, new long[] {3},
                TensorData.Field.INT32_DATA, new int[] {-1, 127, -128})));
        assertArrayEquals(bytes(0xFF, 0xFF, 0x01, 0x00), raw(fields(DataType.UINT16, new long[] {2},
                TensorData.Field.INT32_DATA, new int[] {65535, 1})));
        assertArrayEquals(bytes(1, 0, 1), raw(fields(DataType.BOOL, new long[] {3},
                TensorData.Field.INT32_DATA, new int[] {1, 0, 1})));
        assertArrayEquals(bytes(0x38, 0x7E), raw(fields(DataType.FLOAT8E4M3FN, new long[] {2},
                TensorData.Field.INT32_DATA, new int[] {0x38, 0x7E})));
        assertArrayEquals(bytes(0xFE, 0xFF, 0xFF, 0xFF), raw(fields(DataType.INT32, new long[] {1},
                TensorData.Field.INT32_DATA, new int[] {-2})));
    }

    @Test
    void int32DataHoldsPackedBytesOfFourBitTypes() {
        Tensor t = fields(DataType.INT4, new long[] {3}, TensorData.Field.INT32_DATA, new int[] {0x8F, 0x07});
        assertArrayEquals(bytes(0x8F, 0x07), raw(t));
        assertArrayEquals(new long[] {-1, -8, 7}, t.toLongArray());
        Tensor u = fields(DataType.UINT4, new long[] {2}, TensorData.Field.INT32_DATA, new int[] {0x8F});
        assertArrayEquals(new long[] {15, 8}, u.toLongArray());
    }

    @Test
    void wideFields() {
        assertArrayEquals(bytes(0xFF, 0xFF, 0xFF, 0xFF), raw(fields(DataType.UINT32, new long[] {1},
                TensorData.Field.UINT64_DATA, new long[] {0xFFFF_FFFFL})));
        assertArrayEquals(bytes(0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF), raw(fields(DataType.UINT64,
                new long[] {1}, TensorData.Field.UINT64_DATA, new long[] {-1L})));
        assertArrayEquals(bytes(0x02, 0, 0, 0, 0, 0, 0, 0x80), raw(fields(DataType.INT64, new long[] {1},
                TensorData.Field.INT64_DATA, new long[] {Long.MIN_VALUE + 2})));
        assertArrayEquals(bytes(0, 0, 0, 0, 0, 0, 0xF0, 0x3F), raw(fields(DataType.DOUBLE, new long[] {1},
                TensorData.Field.DOUBLE_DATA, new double[] {1.0})));
        assertArrayEquals(bytes(0, 0, 0x80, 0x3F, 0, 0, 0, 0xC0), raw(fields(DataType.COMPLEX64, new long[] {1},
                TensorData.Field.FLOAT_DATA, new float[] {1f, -2f})));
        assertArrayEquals(bytes(0, 0, 0xC0, 0x3F), raw(fields(DataType.FLOAT, new long[] {1},
                TensorData.Field.FLOAT_DATA, new float[] {1.5f})));
    }

    @Test
    void byteSizesOfNarrowTypesRoundUp() {
        assertEquals(2, DataType.INT4.byteSize(3));
        assertEquals(2, DataType.FLOAT4E2M1.byteSize(4));
        assertEquals(2, DataType.UINT2.byteSize(5));
        assertEquals(0, DataType.INT4.byteSize(0));
        assertEquals(16, DataType.COMPLEX128.byteSize(1));
        assertThrows(ArithmeticException.class, () -> DataType.FLOAT.byteSize(Long.MAX_VALUE / 2));
        assertThrows(IllegalStateException.class, () -> DataType.STRING.byteSize(1));
    }
}
