package dev.slimnx.validate.data;

/**
 * One decoded image before preprocessing: raw pixel values (0..255 for 8-bit images), rows of
 * interleaved channels, the layout every decoder produces naturally.
 *
 * @param height rows
 * @param width columns
 * @param channels values per pixel (1 or 3)
 * @param pixels {@code height × width × channels} values, row-major, channels innermost
 */
public record RawImage(int height, int width, int channels, float[] pixels) {
    public RawImage {
        if (height <= 0 || width <= 0 || channels <= 0 || pixels.length != (long) height * width * channels) {
            throw new IllegalArgumentException(height + "x" + width + "x" + channels + " image with " + pixels.length + " values");
        }
    }

    /**
     * Gray to RGB repeats the value; RGB to gray takes ITU-R 601 luma with PIL's integer rounding
     * ({@code (19595 R + 38470 G + 7471 B + 32768) >> 16}), so a model trained on
     * {@code Image.convert("L")} sees the same values here.
     *
     * @param target 1 or 3
     * @return this image with that many channels
     */
    public RawImage withChannels(int target) {
        if (target == channels) {
            return this;
        }
        int n = height * width;
        float[] out = new float[n * target];
        if (channels == 1 && target == 3) {
            for (int i = 0; i < n; i++) {
                out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = pixels[i];
            }
        } else if (channels == 3 && target == 1) {
            for (int i = 0; i < n; i++) {
                long r = Math.round(pixels[3 * i]);
                long g = Math.round(pixels[3 * i + 1]);
                long b = Math.round(pixels[3 * i + 2]);
                out[i] = (19595 * r + 38470 * g + 7471 * b + 32768) >> 16;
            }
        } else {
            throw new IllegalArgumentException("cannot convert " + channels + " channels to " + target);
        }
        return new RawImage(height, width, target, out);
    }
}
