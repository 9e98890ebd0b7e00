package dev.slimnx.graph.tensor;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Taking entries of a tensor along one axis: what structured pruning does to every weight of a
 * channel group (keep output channels 3, 0, 7 of a Conv weight; keep rows of a MatMul weight).
 *
 * <p>The copy works on raw bytes, so it serves every element type whose elements are whole bytes
 * (floats of every width, integers, BOOL) without decoding them; the result is a new raw tensor
 * with the name, type, doc string and metadata of the source.
 */
public final class TensorSlices {
    private TensorSlices() {
    }

    /**
     * {@code out[..., j, ...] = t[..., indices[j], ...]} along {@code axis}: the indices may repeat
     * or come in any order (a permutation of the channels is a valid "keep everything").
     *
     * @param t the tensor
     * @param axis the axis, in [0, rank)
     * @param indices positions along the axis, each in [0, dim)
     * @return a tensor whose dim at {@code axis} is {@code indices.length}
     * @throws IllegalArgumentException for an axis or index out of range, a STRING tensor, or an
     *     element type narrower than a byte (4-bit types pack two elements per byte)
     */
    public static Tensor take(Tensor t, int axis, int[] indices) {
        Objects.requireNonNull(t, "t");
        long[] dims = t.dims();
        if (axis < 0 || axis >= dims.length) {
            throw new IllegalArgumentException("axis " + axis + " is out of range for " + t);
        }
        DataType type = t.dataType();
        if (type == DataType.STRING || type == DataType.UNDEFINED || type.bits() < 8 || type.bits() % 8 != 0) {
            throw new IllegalArgumentException("cannot slice " + t + ": elements of type " + type
                    + " are not whole bytes");
        }
        long length = dims[axis];
        for (int k : indices) {
            if (k < 0 || k >= length) {
                throw new IllegalArgumentException("index " + k + " is out of range [0, " + length + ") on axis "
                        + axis + " of " + t);
            }
        }
        long outer = 1;
        for (int i = 0; i < axis; i++) {
            outer = Math.multiplyExact(outer, dims[i]);
        }
        long inner = type.bits() / 8;
        for (int i = axis + 1; i < dims.length; i++) {
            inner = Math.multiplyExact(inner, dims[i]);
        }
        long[] outDims = dims.clone();
        outDims[axis] = indices.length;
        long outBytes = Math.multiplyExact(Math.multiplyExact(outer, indices.length), inner);
        if (outBytes > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("slice of " + t + " would take " + outBytes + " bytes, too many for one buffer");
        }
        ByteBuffer src = t.rawBytes();
        int base = src.position();
        byte[] out = new byte[(int) outBytes];
        int at = 0;
        int run = (int) inner;
        for (long o = 0; o < outer; o++) {
            for (int k : indices) {
                long from = base + (o * length + k) * inner;
                src.get((int) from, out, at, run);
                at += run;
            }
        }
        Tensor sliced = Tensor.ofRaw(t.name(), type, outDims, ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN));
        return new Tensor(t.name(), sliced.dataTypeCode(), outDims, sliced.data(), t.docString(), t.metadata(), null,
                OpaqueFields.NONE);
    }
}
