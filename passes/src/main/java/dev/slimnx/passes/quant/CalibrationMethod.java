package dev.slimnx.passes.quant;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** How calibration turns the values a tensor took into the range it is quantized over. */
public enum CalibrationMethod {
    /** The smallest and largest value seen: nothing is clipped, outliers stretch the scale. */
    MINMAX,
    /**
     * A percentile of the values seen (99.999 by default): the rare outliers above it are clipped,
     * which buys resolution for the rest ({@link HistogramCollector#percentileRange}).
     */
    PERCENTILE,
    /**
     * The clipping threshold whose 128-level quantization loses the least information, measured as
     * the KL divergence between the histogram and its quantized copy ({@link EntropyThreshold}).
     */
    ENTROPY;

    /**
     * @param text {@code minmax}, {@code percentile} or {@code entropy}, any case
     * @return the method
     * @throws IllegalArgumentException naming the known methods
     */
    public static CalibrationMethod parse(String text) {
        String key = text.strip().toUpperCase(Locale.ROOT).replace("-", "");
        for (CalibrationMethod m : values()) {
            if (m.name().equals(key)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown calibration method '" + text + "'; known: "
                + Arrays.stream(values()).map(CalibrationMethod::text).collect(Collectors.joining(", ")));
    }

    /** @return the lower-case name the CLI uses */
    public String text() {
        return name().toLowerCase(Locale.ROOT);
    }
}
