package dev.slimnx.graph.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link TensorSlices#take} along every axis against an element-by-element gather, and its refusals. */
class TensorSlicesTest {

    /** A [2, 3, 4] tensor whose value is its flat index. */
    private static Tensor iota() {
        float[] v = new float[24];
        for (int i = 0; i < v.length; i++) {
            v[i] = i;
        }
        return Tensor.ofFloats("w", new long[] {2, 3, 4}, v);
    }

    @Test
    void takesAlongEachAxisInTheGivenOrder() {
        Tensor t = iota();
        assertArrayEquals(new float[] {12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
                TensorSlices.take(t, 0, new int[] {1, 0}).toFloatArray());
        Tensor mid = TensorSlices.take(t, 1, new int[] {2, 0});
        assertArrayEquals(new long[] {2, 2, 4}, mid.dims());
        assertArrayEquals(new float[] {8, 9, 10, 11, 0, 1, 2, 3, 20, 21, 22, 23, 12, 13, 14, 15}, mid.toFloatArray());
        Tensor last = TensorSlices.take(t, 2, new int[] {3, 1});
        assertArrayEquals(new float[] {3, 1, 7, 5, 11, 9, 15, 13, 19, 17, 23, 21}, last.toFloatArray());
        assertEquals("w", last.name());
    }

    @Test
    void keepsTheTypeOfIntegerAndBooleanTensors() {
        Tensor longs = Tensor.ofLongs("s", new long[] {4}, 10, 20, 30, 40);
        Tensor taken = TensorSlices.take(longs, 0, new int[] {3, 0});
        assertEquals(DataType.INT64, taken.dataType());
        assertArrayEquals(new long[] {40, 10}, taken.toLongArray());
        Tensor bools = Tensor.ofIntegers("b", DataType.BOOL, new long[] {2, 2}, 1, 0, 0, 1);
        assertArrayEquals(new long[] {0, 1}, TensorSlices.take(bools, 1, new int[] {1}).toLongArray());
    }

    @Test
    void anEmptySelectionGivesAZeroSizedAxis() {
        Tensor none = TensorSlices.take(iota(), 2, new int[0]);
        assertArrayEquals(new long[] {2, 3, 0}, none.dims());
        assertEquals(0, none.numElements());
    }

    @Test
    void refusesBadAxesIndicesAndTypes() {
        Tensor t = iota();
        assertThrows(IllegalArgumentException.class, () -> TensorSlices.take(t, 3, new int[] {0}));
        assertThrows(IllegalArgumentException.class, () -> TensorSlices.take(t, 1, new int[] {3}));
        assertThrows(IllegalArgumentException.class, () -> TensorSlices.take(t, 1, new int[] {-1}));
        Tensor int4 = Tensor.ofRaw("q", DataType.INT4, new long[] {4}, ByteBuffer.wrap(new byte[2]));
        assertThrows(IllegalArgumentException.class, () -> TensorSlices.take(int4, 0, new int[] {0}));
        Tensor strings = new Tensor("s", DataType.STRING.code(), new long[] {1},
                TensorCodec.stringFields(List.of(new byte[] {65})), "", List.of(), null, OpaqueFields.NONE);
        assertThrows(IllegalArgumentException.class, () -> TensorSlices.take(strings, 0, new int[] {0}));
    }
}
