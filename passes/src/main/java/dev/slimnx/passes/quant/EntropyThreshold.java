package dev.slimnx.passes.quant;

/**
 * The entropy calibration of TensorRT (Migacz, "8-bit Inference with TensorRT", GTC 2017), which
 * ONNX Runtime's tooling also offers: the clipping threshold {@code t} of |x| whose quantization
 * loses the least information.
 *
 * <h2>The procedure</h2>
 * On a histogram {@code h} of |x| with {@code n} bins of width {@code w} (2048 by default), each
 * candidate {@code i = Q … n} ({@code Q} = 128 quantized levels) stands for the threshold
 * {@code t = i·w}:
 * <ol>
 *   <li>the reference {@code P} is {@code h[0 … i−1]} with every count beyond the threshold (the
 *       values that would be clipped) added to its last bin;</li>
 *   <li>the candidate {@code C} quantizes {@code h[0 … i−1]} (without the outliers) into {@code Q}
 *       groups of consecutive bins (group {@code g} holds bins {@code ⌊g·i/Q⌋ … ⌊(g+1)·i/Q⌋ − 1})
 *       and expands each group's total back evenly over the group's bins where {@code P} is not
 *       zero, since a quantized level cannot tell where inside its interval its values were;</li>
 *   <li>both are normalized to sum 1 and the divergence {@code KL(P‖C) = Σ_{P>0} P·ln(P/C)} is
 *       computed. {@code C} is zero only where {@code P} is zero, except when the outliers land in
 *       a group that held nothing; there {@code C} counts as ε = 1e-4, a heavy penalty rather than
 *       an infinite one (the smoothing ONNX Runtime applies, without moving mass off the other
 *       bins, which can turn small counts negative).</li>
 * </ol>
 * The threshold is {@code i·w} for the {@code i} with the smallest divergence (the first on a
 * tie). A long tail makes the wide candidates pay for their coarse steps, so {@code t} falls below
 * the maximum; for values spread evenly up to the maximum nothing is gained by clipping and
 * {@code t} stays near it. Candidates beyond the last non-empty bin are not tried: they only add
 * empty bins and coarser levels. When all values fit in the first {@code Q} bins, the threshold is
 * {@code Q·w} (every value keeps its own level).
 *
 * <p>NOTE: TensorRT's own threshold is {@code (i + 0.5)·w}; this class takes the upper edge of the
 * kept bins, as ONNX Runtime's tooling does.
 */
public final class EntropyThreshold {
    private static final double EPSILON = 1e-4;

    private EntropyThreshold() {
    }

    /**
     * @param absHistogram counts of |x| per bin, bin {@code j} covering {@code [j·w, (j+1)·w)}
     * @param binWidth w
     * @param quantizedBins Q, at most the number of bins
     * @return the threshold t
     * @throws IllegalArgumentException when Q exceeds the number of bins or is below 2
     */
    public static double of(long[] absHistogram, double binWidth, int quantizedBins) {
        int n = absHistogram.length;
        if (quantizedBins < 2 || quantizedBins > n) {
            throw new IllegalArgumentException("quantized bins must be in [2, " + n + "], got " + quantizedBins);
        }
        int lastNonEmpty = 0;
        for (int j = 0; j < n; j++) {
            if (absHistogram[j] != 0) {
                lastNonEmpty = j + 1;
            }
        }
        int best = quantizedBins;
        double bestKl = Double.POSITIVE_INFINITY;
        for (int i = quantizedBins; i <= Math.max(quantizedBins, lastNonEmpty); i++) {
            double kl = divergence(absHistogram, i, quantizedBins);
            if (kl < bestKl) {
                bestKl = kl;
                best = i;
            }
        }
        return best * binWidth;
    }

    /** @return KL(P‖C) for threshold bin count {@code i}, or +∞ when the kept bins hold nothing */
    static double divergence(long[] h, int i, int q) {
        double[] p = new double[i];
        for (int j = 0; j < i; j++) {
            p[j] = h[j];
        }
        for (int j = i; j < h.length; j++) {
            p[i - 1] += h[j];
        }
        double[] c = new double[i];
        for (int g = 0; g < q; g++) {
            int start = (int) ((long) g * i / q);
            int end = (int) ((long) (g + 1) * i / q);
            double sum = 0;
            int nonZero = 0;
            for (int j = start; j < end; j++) {
                sum += h[j];
                nonZero += p[j] != 0 ? 1 : 0;
            }
            if (nonZero > 0) {
                for (int j = start; j < end; j++) {
                    c[j] = p[j] != 0 ? sum / nonZero : 0;
                }
            }
        }
        double pTotal = 0;
        double cTotal = 0;
        for (int j = 0; j < i; j++) {
            pTotal += p[j];
            cTotal += c[j];
        }
        if (pTotal <= 0 || cTotal <= 0) {
            return Double.POSITIVE_INFINITY;
        }
        double kl = 0;
        for (int j = 0; j < i; j++) {
            if (p[j] > 0) {
                double pj = p[j] / pTotal;
                kl += pj * Math.log(pj / (c[j] > 0 ? c[j] / cTotal : EPSILON));
            }
        }
        return kl;
    }
}
