package dev.slimnx.validate.data;

/**
 * How raw pixels become model input: {@code x = (pixel * scale - mean[c]) / std[c]} for channel c.
 *
 * @param scale multiplier of raw pixel values (1/255 for 8-bit images)
 * @param mean per-channel mean (one value applies to every channel)
 * @param std per-channel standard deviation (one value applies to every channel)
 */
public record ImagePreprocessing(double scale, double[] mean, double[] std) {
    public ImagePreprocessing {
        if (mean.length == 0 || std.length == 0) {
            throw new IllegalArgumentException("mean and std need at least one value");
        }
        for (double s : std) {
            if (!(s > 0)) {
                throw new IllegalArgumentException("std must be positive, got " + s);
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** @return scale only: pixels / 255, no normalisation */
    public static ImagePreprocessing unitScale() {
        return new ImagePreprocessing(1.0 / 255, new double[] {0}, new double[] {1});
    }

    /**
     * @param raw a raw pixel value
     * @param channel its channel
     * @return {@code (raw * scale - mean[channel]) / std[channel]}, the last mean/std value standing in
     *     for channels beyond the list (so one value applies to all)
     */
    public float normalize(double raw, int channel) {
        double m = mean[Math.min(channel, mean.length - 1)];
        double s = std[Math.min(channel, std.length - 1)];
        return (float) ((raw * scale - m) / s);
    }

    /**
     * Applies the preprocessing in place to NCHW data.
     *
     * @param data values, {@code items × channels × pixelsPerChannel}
     * @param items number of items
     * @param channels channels per item
     */
    public void apply(float[] data, int items, int channels) {
        int perChannel = data.length / Math.max(1, items * channels);
        int i = 0;
        for (int n = 0; n < items; n++) {
            for (int c = 0; c < channels; c++) {
                double m = mean[Math.min(c, mean.length - 1)];
                double s = std[Math.min(c, std.length - 1)];
                for (int k = 0; k < perChannel; k++, i++) {
                    data[i] = (float) ((data[i] * scale - m) / s);
                }
            }
        }
    }
}
