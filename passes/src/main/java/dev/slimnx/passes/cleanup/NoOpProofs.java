package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.DimProduct;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;

/**
 * The proofs {@link EliminatePass} relies on: each answers "does this op, with these constant
 * arguments, return its input unchanged?" from shapes and constants alone, and changes nothing.
 * An answer of false means "not proven", never "proven not".
 *
 * <p>Dims are compared as products ({@link DimProduct}): two known sizes are equal when their
 * numbers are, two symbolic ones when their symbols are ({@code batch} = {@code batch},
 * {@code 4*batch} = {@code batch*4}); an unknown dim, or a negative "size" some exporters write
 * for unknown, equals nothing.
 */
final class NoOpProofs {
    /**
     * Ends at or beyond this reach the end of any axis. NOTE: assumes no axis has 2^31 - 1 or more
     * elements, as ONNX Runtime and PyTorch's exporter do (it writes INT64_MAX for "to the end").
     */
    static final long TO_THE_END = Integer.MAX_VALUE;

    private NoOpProofs() {
    }

    /**
     * @param v an integer constant (initializer or Constant node), any rank
     * @return its values, or null when it is not an integer constant
     */
    static long[] longs(Value v) {
        Tensor t = v == null ? null : GraphEdits.constant(v);
        return t != null && t.dataType().isInteger() ? t.toLongArray() : null;
    }

    /** @return true when the two dims are proven to be the same size */
    static boolean sameDim(Dim a, Dim b) {
        if (a.isKnown() && a.value() < 0 || b.isKnown() && b.value() < 0) {
            return false;
        }
        DimProduct pa = DimProduct.of(a);
        DimProduct pb = DimProduct.of(b);
        return pa != null && pb != null && pa.equals(pb);
    }

    /** @return the size of a known, non-negative dim, else -1 */
    static long size(Dim d) {
        return d.isKnown() && d.value() >= 0 ? d.value() : -1;
    }

    /**
     * Reshape to {@code target}: output dim i is {@code target[i]} when positive, the input's dim i
     * when 0 (unless {@code allowZero}, where 0 is a size), and for the one -1 entry the input's
     * element count over the product of the other output dims. So when the ranks agree and every
     * other entry is 0 (copies {@code in[i]}) or equals a known {@code in[i]}, the -1 entry is
     * {@code prod(in) / prod(in[k], k != j) = in[j]}: the output shape is the input shape, proven
     * without knowing the dims at copied or -1 positions. (A reshape ONNX Runtime would reject,
     * such as a -1 beside a zero-size dim, stops failing; that is the only difference.)
     *
     * @param in the input's shape, or null
     * @param target the constant target
     * @param allowZero the op's {@code allowzero} (opset 14+)
     * @return true when the output shape is proven equal to {@code in}
     */
    static boolean reshapeKeepsShape(Shape in, long[] target, boolean allowZero) {
        if (in == null || in.rank() != target.length) {
            return false;
        }
        boolean inferredSeen = false;
        for (int i = 0; i < target.length; i++) {
            long t = target[i];
            if (t == -1 && !inferredSeen) {
                inferredSeen = true;
            } else if (t == 0 && !allowZero) {
                continue;
            } else if (t < 0 || size(in.dim(i)) != t) {
                return false;
            }
        }
        return true;
    }

    /**
     * Flatten at {@code axis} gives {@code [prod(in[:axis]), prod(in[axis:])]}; on a rank-2 input
     * that is {@code in} for axis 1, for axis 0 when {@code in[0] = 1}, for axis 2 when
     * {@code in[1] = 1}.
     */
    static boolean flattenKeepsShape(Shape in, long axis) {
        if (in == null || in.rank() != 2) {
            return false;
        }
        long a = axis < 0 ? axis + 2 : axis;
        return a == 1 || a == 0 && size(in.dim(0)) == 1 || a == 2 && size(in.dim(1)) == 1;
    }

    /**
     * Squeeze with axes drops at least one dim; without axes (or an empty list) it drops every dim of
     * size 1, so it keeps the shape only when every dim is known and none is 1. A symbolic dim such
     * as {@code batch} may be 1 at run time, so it never proves anything here.
     *
     * @param axes the axes, empty when none were given
     */
    static boolean squeezeKeepsShape(Shape in, long[] axes) {
        if (in == null || axes.length > 0) {
            return false;
        }
        for (Dim d : in.dims()) {
            if (size(d) < 0 || size(d) == 1) {
                return false;
            }
        }
        return true;
    }

    /** Unsqueeze inserts one dim per axis: it keeps the shape only for an empty list of axes. */
    static boolean unsqueezeKeepsShape(long[] axes) {
        return axes.length == 0;
    }

    /**
     * Expand broadcasts {@code in} against {@code shape}: with every entry 1 and no more entries
     * than {@code in} has dims, each output dim is {@code broadcast(in[i], 1) = in[i]}.
     */
    static boolean expandKeepsShape(Shape in, long[] shape) {
        if (in == null || shape.length > in.rank()) {
            return false;
        }
        for (long s : shape) {
            if (s != 1) {
                return false;
            }
        }
        return true;
    }

    /** @return true when every pad is 0: Pad then copies its input whatever the mode and value */
    static boolean allZero(long[] pads) {
        for (long p : pads) {
            if (p != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Slice keeps every element, in order, when on each sliced axis it takes the whole axis forward:
     * with a known size d, the clamped range {@code [start, end)} with step 1 has length d (or d is
     * 0 or 1, where any non-empty selection is the whole axis); with an unknown or symbolic size,
     * start 0, step 1 and end {@code >= }{@link #TO_THE_END}.
     *
     * @param in the data's shape, or null (then only the unknown-size test can pass)
     * @param axes the sliced axes (possibly negative), or null for {@code 0..starts.length-1}
     * @param steps the steps, or null for all 1
     */
    static boolean sliceTakesAll(Shape in, long[] starts, long[] ends, long[] axes, long[] steps) {
        int n = starts.length;
        if (ends.length != n || axes != null && axes.length != n || steps != null && steps.length != n) {
            return false;
        }
        long[] sliced = new long[n];
        for (int j = 0; j < n; j++) {
            long a = axes == null ? j : axes[j];
            if (a < 0) {
                if (in == null) {
                    return false;
                }
                a += in.rank();
            }
            if (a < 0 || in != null && a >= in.rank() || contains(sliced, j, a)) {
                return false;
            }
            sliced[j] = a;
            long step = steps == null ? 1 : steps[j];
            long d = in == null ? -1 : size(in.dim((int) a));
            boolean whole = d >= 0 ? sliceLength(starts[j], ends[j], step, d) == d && (step == 1 || d <= 1)
                    : step == 1 && starts[j] == 0 && ends[j] >= TO_THE_END;
            if (!whole) {
                return false;
            }
        }
        return true;
    }

    /** @return true when one of the first {@code count} entries of {@code values} is {@code v} */
    private static boolean contains(long[] values, int count, long v) {
        for (int i = 0; i < count; i++) {
            if (values[i] == v) {
                return true;
            }
        }
        return false;
    }

    /** The number of elements a slice takes from an axis of {@code d}, clamping as ONNX does. */
    private static long sliceLength(long start, long end, long step, long d) {
        if (step == 0 || step == Long.MIN_VALUE) {
            return -1;
        }
        long s = start < 0 ? start + d : start;
        long e = end < 0 ? end + d : end;
        if (step > 0) {
            s = Math.clamp(s, 0, d);
            e = Math.clamp(e, 0, d);
            return e > s ? Math.ceilDiv(e - s, step) : 0;
        }
        s = Math.clamp(s, -1, d - 1);
        e = Math.clamp(e, -1, d - 1);
        return s > e ? Math.ceilDiv(s - e, -step) : 0;
    }

    /**
     * @param t a constant, possibly null
     * @return true when it holds exactly one value and that value is false (0)
     */
    static boolean isFalse(Tensor t) {
        return t != null && (t.dataType() == DataType.BOOL || t.dataType().isInteger()) && t.numElements() == 1
                && t.toLongArray()[0] == 0;
    }

    /**
     * @param perm a Transpose's {@code perm}, or null for the default (reverse the dims)
     * @param rank the input's rank, or -1 when unknown
     * @return the permutation, or null when it cannot be known or is not a permutation of
     *     {@code 0..rank-1}
     */
    static long[] permutation(long[] perm, int rank) {
        if (perm == null) {
            if (rank < 0) {
                return null;
            }
            long[] reversed = new long[rank];
            for (int i = 0; i < rank; i++) {
                reversed[i] = rank - 1 - i;
            }
            return reversed;
        }
        if (rank >= 0 && perm.length != rank) {
            return null;
        }
        boolean[] seen = new boolean[perm.length];
        for (long p : perm) {
            if (p < 0 || p >= perm.length || seen[(int) p]) {
                return null;
            }
            seen[(int) p] = true;
        }
        return perm;
    }

    /** @return true when {@code perm[i] = i} for every i */
    static boolean isIdentity(long[] perm) {
        for (int i = 0; i < perm.length; i++) {
            if (perm[i] != i) {
                return false;
            }
        }
        return true;
    }
}
