package dev.slimnx.passes.quant;

/**
 * The range of real values a tensor is quantized over, as calibration chose it: the observed
 * minimum and maximum, or a clipped range inside them (percentile, entropy).
 *
 * @param min the lowest value kept
 * @param max the highest value kept
 */
public record Range(float min, float max) {
    /**
     * @throws IllegalArgumentException when a bound is not finite or {@code min > max}
     */
    public Range {
        if (!Float.isFinite(min) || !Float.isFinite(max) || min > max) {
            throw new IllegalArgumentException("not a range: [" + min + ", " + max + "]");
        }
    }

    /**
     * @return the asymmetric scale and zero point mapping this range, widened to include 0, onto
     *     {@code [qmin, qmax]} ({@link QuantMath#asymmetric})
     * @param qmin the smallest quantized value
     * @param qmax the largest quantized value
     */
    public QuantMath.Affine affine(int qmin, int qmax) {
        return QuantMath.asymmetric(min, max, qmin, qmax);
    }
}
