package dev.slimnx.passes.quant;

import java.util.Objects;

/**
 * How {@link Calibration} reads the data and chooses ranges.
 *
 * @param method how ranges are chosen
 * @param percentile for {@link CalibrationMethod#PERCENTILE}: the share of values (in percent, in
 *     (0, 100]) the range keeps
 * @param symmetric for {@link CalibrationMethod#PERCENTILE}: true takes the percentile of |x| and
 *     gives {@code [−t, t]}; false (ONNX Runtime's tooling default) cuts {@code (100 − p)/2} percent
 *     off each tail of x. Either range is then clipped to the observed [min, max].
 * @param bins histogram bins over |x| (TensorRT and this class use 2048); even, at least
 *     {@code quantizedBins}
 * @param quantizedBins for {@link CalibrationMethod#ENTROPY}: the levels the candidate
 *     quantization has over [0, t] (128, as for int8's magnitudes)
 * @param maxBatches batches read at most; 0 reads them all
 */
public record CalibrationOptions(CalibrationMethod method, double percentile, boolean symmetric, int bins,
                                 int quantizedBins, int maxBatches) {
    /** Histogram bins over |x|, as TensorRT's entropy calibrator. */
    public static final int DEFAULT_BINS = 2048;
    /** Levels of the candidate quantization in the KL search. */
    public static final int DEFAULT_QUANTIZED_BINS = 128;
    /** The percentile ONNX Runtime's tooling defaults to. */
    public static final double DEFAULT_PERCENTILE = 99.999;

    /**
     * @throws IllegalArgumentException for a percentile outside (0, 100], an odd or too small bin
     *     count, or a negative batch count
     */
    public CalibrationOptions {
        Objects.requireNonNull(method, "method");
        if (!(percentile > 0 && percentile <= 100)) {
            throw new IllegalArgumentException("percentile must be in (0, 100], got " + percentile);
        }
        if (quantizedBins < 2) {
            throw new IllegalArgumentException("quantizedBins must be at least 2, got " + quantizedBins);
        }
        if (bins < quantizedBins || bins % 2 != 0) {
            throw new IllegalArgumentException("bins must be even and at least quantizedBins (" + quantizedBins
                    + "), got " + bins);
        }
        if (maxBatches < 0) {
            throw new IllegalArgumentException("maxBatches must be 0 (all) or more, got " + maxBatches);
        }
    }

    /**
     * @param method how ranges are chosen
     * @return that method with the defaults: percentile 99.999 (asymmetric), 2048 bins, 128
     *     quantized bins, every batch
     */
    public static CalibrationOptions of(CalibrationMethod method) {
        return new CalibrationOptions(method, DEFAULT_PERCENTILE, false, DEFAULT_BINS, DEFAULT_QUANTIZED_BINS, 0);
    }

    /** @return these options with another percentile */
    public CalibrationOptions withPercentile(double p) {
        return new CalibrationOptions(method, p, symmetric, bins, quantizedBins, maxBatches);
    }

    /** @return these options with another symmetry for the percentile */
    public CalibrationOptions withSymmetric(boolean s) {
        return new CalibrationOptions(method, percentile, s, bins, quantizedBins, maxBatches);
    }

    /** @return these options reading at most {@code n} batches (0: all) */
    public CalibrationOptions withMaxBatches(int n) {
        return new CalibrationOptions(method, percentile, symmetric, bins, quantizedBins, n);
    }
}
