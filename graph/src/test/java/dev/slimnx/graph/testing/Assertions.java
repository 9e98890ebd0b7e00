package dev.slimnx.graph.testing;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.util.Arrays;
import java.util.List;

/**
 * The one closeness check every slimnx test uses, with numpy's {@code assert_allclose} semantics:
 * {@code |actual - expected| <= atol + rtol * |expected|} element by element, NaN equal to NaN,
 * infinities equal only to the same infinity. Tensors must also agree in element type and dims;
 * string tensors must be equal.
 */
public final class Assertions {
    private Assertions() {
    }

    /**
     * @param expected expected values
     * @param actual actual values
     * @param rtol relative tolerance
     * @param atol absolute tolerance
     * @throws AssertionError describing the worst element when they are not close
     */
    public static void assertAllClose(float[] expected, float[] actual, double rtol, double atol) {
        double[] e = new double[expected.length];
        double[] a = new double[actual.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = expected[i];
        }
        for (int i = 0; i < a.length; i++) {
            a[i] = actual[i];
        }
        assertAllClose(e, a, rtol, atol);
    }

    /**
     * @param expected expected values
     * @param actual actual values
     * @param rtol relative tolerance
     * @param atol absolute tolerance
     * @throws AssertionError describing the worst element when they are not close
     */
    public static void assertAllClose(double[] expected, double[] actual, double rtol, double atol) {
        String m = mismatch(expected, actual, rtol, atol);
        if (m != null) {
            throw new AssertionError(m);
        }
    }

    /**
     * @param expected expected tensor
     * @param actual actual tensor
     * @param rtol relative tolerance
     * @param atol absolute tolerance
     * @throws AssertionError when element types, dims or values differ
     */
    public static void assertAllClose(Tensor expected, Tensor actual, double rtol, double atol) {
        String m = mismatch(expected, actual, rtol, atol);
        if (m != null) {
            throw new AssertionError(expected.name() + ": " + m);
        }
    }

    /**
     * The check behind {@link #assertAllClose(Tensor, Tensor, double, double)}, for callers that
     * classify rather than fail (the conformance suite).
     *
     * @param expected expected tensor
     * @param actual actual tensor
     * @param rtol relative tolerance
     * @param atol absolute tolerance
     * @return null when close, else what differs
     */
    public static String mismatch(Tensor expected, Tensor actual, double rtol, double atol) {
        if (expected.dataType() != actual.dataType()) {
            return "element type " + actual.dataType() + ", expected " + expected.dataType();
        }
        if (!Arrays.equals(expected.dims(), actual.dims())) {
            return "dims " + Arrays.toString(actual.dims()) + ", expected " + Arrays.toString(expected.dims());
        }
        DataType t = expected.dataType();
        if (t == DataType.STRING) {
            List<byte[]> e = expected.strings();
            List<byte[]> a = actual.strings();
            for (int i = 0; i < e.size(); i++) {
                if (!Arrays.equals(e.get(i), a.get(i))) {
                    return "string " + i + " is '" + new String(a.get(i)) + "', expected '" + new String(e.get(i)) + "'";
                }
            }
            return null;
        }
        if (t == DataType.COMPLEX64 || t == DataType.COMPLEX128 || t == DataType.UNDEFINED) {
            return expected.rawBytes().equals(actual.rawBytes()) ? null : "raw bytes differ";
        }
        return mismatch(expected.toDoubleArray(), actual.toDoubleArray(), rtol, atol);
    }

    /**
     * @param expected expected values
     * @param actual actual values
     * @param rtol relative tolerance
     * @param atol absolute tolerance
     * @return null when close, else the count of differing elements and the worst one
     */
    public static String mismatch(double[] expected, double[] actual, double rtol, double atol) {
        if (expected.length != actual.length) {
            return actual.length + " values, expected " + expected.length;
        }
        int bad = 0;
        int worst = -1;
        double worstExcess = -1;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            double excess;
            if (Double.isNaN(e) || Double.isNaN(a)) {
                excess = Double.isNaN(e) && Double.isNaN(a) ? 0 : Double.POSITIVE_INFINITY;
            } else if (Double.isInfinite(e) || Double.isInfinite(a)) {
                excess = e == a ? 0 : Double.POSITIVE_INFINITY;
            } else {
                excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
            }
            if (excess > 0) {
                bad++;
                if (excess > worstExcess) {
                    worstExcess = excess;
                    worst = i;
                }
            }
        }
        if (bad == 0) {
            return null;
        }
        return bad + " of " + expected.length + " values differ beyond rtol=" + rtol + ", atol=" + atol
                + "; worst at flat index " + worst + ": expected " + expected[worst] + ", got " + actual[worst]
                + " (abs diff " + Math.abs(actual[worst] - expected[worst]) + ")";
    }
}
