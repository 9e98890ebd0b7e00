package dev.slimnx.validate.metrics;

/**
 * Accumulates how far a candidate's output is from the baseline's, element by element over every
 * batch: maximum and mean absolute error, cosine similarity of the whole output, and the
 * signal-to-quantization-noise ratio {@code SQNR = 10·log10(Σ b² / Σ (b − c)²)} in dB (infinite
 * when the outputs are identical).
 */
public final class OutputErrorAccumulator {
    private long n;
    private double maxAbs;
    private double sumAbs;
    private double dot;
    private double normB;
    private double normC;
    private double noise;
    private long nonFinite;

    /**
     * @param baseline baseline values
     * @param candidate candidate values, same length
     */
    public void add(float[] baseline, float[] candidate) {
        if (baseline.length != candidate.length) {
            throw new IllegalArgumentException("outputs differ in size: " + baseline.length + " vs " + candidate.length);
        }
        for (int i = 0; i < baseline.length; i++) {
            double b = baseline[i];
            double c = candidate[i];
            if (!Double.isFinite(b) || !Double.isFinite(c)) {
                nonFinite += (Double.isNaN(b) && Double.isNaN(c)) || b == c ? 0 : 1;
                continue;
            }
            double d = Math.abs(b - c);
            maxAbs = Math.max(maxAbs, d);
            sumAbs += d;
            dot += b * c;
            normB += b * b;
            normC += c * c;
            noise += d * d;
        }
        n += baseline.length;
    }

    /**
     * @param maxAbs largest absolute difference
     * @param meanAbs mean absolute difference
     * @param cosine cosine similarity of the flattened outputs (1 when both are zero)
     * @param sqnrDb SQNR in dB; +Infinity when identical
     * @param elements elements compared
     * @param mismatchedNonFinite elements where one side is NaN/Inf and the other is not the same
     */
    public record Result(double maxAbs, double meanAbs, double cosine, double sqnrDb, long elements,
                         long mismatchedNonFinite) {
        /** @return true when every element is equal */
        public boolean identical() {
            return maxAbs == 0 && mismatchedNonFinite == 0;
        }
    }

    /** @return the figures so far */
    public Result result() {
        double cosine = normB == 0 && normC == 0 ? 1 : dot / Math.sqrt(normB * normC);
        double sqnr = noise == 0 ? Double.POSITIVE_INFINITY : 10 * Math.log10(normB / noise);
        return new Result(maxAbs, n == 0 ? 0 : sumAbs / n, cosine, sqnr, n, nonFinite);
    }
}
