package dev.slimnx.passes.quant;

/**
 * The running minimum and maximum of the values a tensor took, batch after batch. NaN values are
 * ignored (they have no place on the quantized grid).
 */
public final class MinMaxCollector {
    private float min = Float.POSITIVE_INFINITY;
    private float max = Float.NEGATIVE_INFINITY;
    private long count;

    /** @param values one batch of the tensor's values */
    public void add(float[] values) {
        float lo = min;
        float hi = max;
        long n = 0;
        for (float v : values) {
            if (v == v) { // not NaN
                lo = Math.min(lo, v);
                hi = Math.max(hi, v);
                n++;
            }
        }
        min = lo;
        max = hi;
        count += n;
    }

    /** @return values seen (NaN excluded) */
    public long count() {
        return count;
    }

    /** @return the smallest value seen, +∞ before any */
    public float min() {
        return min;
    }

    /** @return the largest value seen, −∞ before any */
    public float max() {
        return max;
    }

    /**
     * @return [min, max]; infinities are clamped to the largest finite float
     * @throws IllegalStateException when no value was seen
     */
    public Range range() {
        if (count == 0) {
            throw new IllegalStateException("no values were collected");
        }
        return new Range(finite(min), finite(max));
    }

    static float finite(float v) {
        return Math.max(-Float.MAX_VALUE, Math.min(Float.MAX_VALUE, v));
    }
}
