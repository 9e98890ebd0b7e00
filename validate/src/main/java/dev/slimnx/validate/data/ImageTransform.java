package dev.slimnx.validate.data;

/**
 * The geometric and numeric steps from a decoded image to model input, in torchvision's order:
 * resize (shorter side to {@code resize}, bilinear), centre crop ({@code crop} × {@code crop}), then
 * {@code (x * scale - mean[c]) / std[c]}, written in NCHW or NHWC order. Channel conversion happens
 * before (see {@link RawImage#withChannels}), on integer pixels, as PIL's {@code convert} does.
 *
 * <p>NOTE: the resize is plain bilinear with half-pixel centres and no antialiasing, i.e.
 * {@code torch.nn.functional.interpolate(mode="bilinear", align_corners=False)} and torchvision's
 * tensor {@code Resize(antialias=False)}. PIL's resize smooths when it shrinks, so a strong
 * downscale differs slightly from a PIL-based training pipeline; the values are kept as floats
 * (no rounding to 8 bits in between).
 */
public final class ImageTransform {
    private final int resize;
    private final int crop;
    private final int channels;
    private final boolean nhwc;
    private final ImagePreprocessing preprocessing;

    /**
     * @param spec the data options (resize, crop, scale, mean, std, layout)
     * @param channels channels of the model input
     * @throws IllegalArgumentException if mean or std has neither one value nor one per channel
     */
    public ImageTransform(DataSpec spec, int channels) {
        this.resize = spec.resize();
        this.crop = spec.crop();
        this.channels = channels;
        this.nhwc = spec.layout().equals("NHWC");
        this.preprocessing = spec.preprocessing();
        checkPerChannel("mean", preprocessing.mean().length);
        checkPerChannel("std", preprocessing.std().length);
    }

    private void checkPerChannel(String what, int n) {
        if (n != 1 && n != channels) {
            throw new IllegalArgumentException("--" + what + " has " + n + " values; the model input has "
                    + channels + " channel" + (channels == 1 ? "" : "s") + " (give 1 or " + channels + ")");
        }
    }

    /** @return channels of the output */
    public int channels() {
        return channels;
    }

    /** @return true for NHWC output, false for NCHW */
    public boolean nhwc() {
        return nhwc;
    }

    /**
     * @param height input rows
     * @param width input columns
     * @return {rows, columns} after resize and crop
     * @throws IllegalArgumentException if the crop is larger than the (resized) image
     */
    public int[] outputSize(int height, int width) {
        int h = height;
        int w = width;
        if (resize > 0) {
            int[] r = resizedSize(height, width, resize);
            h = r[0];
            w = r[1];
        }
        if (crop > 0) {
            if (crop > h || crop > w) {
                throw new IllegalArgumentException("is " + h + "x" + w + (resize > 0 ? " after --resize " + resize : "")
                        + ", smaller than --crop " + crop);
            }
            return new int[] {crop, crop};
        }
        return new int[] {h, w};
    }

    /**
     * torchvision's rule: the shorter side becomes {@code size}, the longer one
     * {@code floor(size * long / short)}.
     *
     * @param height rows
     * @param width columns
     * @param size the shorter side after resizing
     * @return {rows, columns}
     */
    static int[] resizedSize(int height, int width, int size) {
        if (width <= height) {
            return new int[] {(int) ((long) size * height / width), size};
        }
        return new int[] {size, (int) ((long) size * width / height)};
    }

    /**
     * @param image the decoded image, already with {@link #channels()} channels
     * @param dst receives {@code channels × rows × columns} values (in the output layout) from offset
     * @param offset first index written
     */
    public void write(RawImage image, float[] dst, int offset) {
        if (image.channels() != channels) {
            throw new IllegalArgumentException("image has " + image.channels() + " channels, expected " + channels);
        }
        RawImage img = resize > 0 ? bilinear(image, resizedSize(image.height(), image.width(), resize)) : image;
        int[] out = outputSize(image.height(), image.width());
        int oh = out[0];
        int ow = out[1];
        // Python's round() rounds half to even, and torchvision's CenterCrop uses it; Math.rint does the same.
        int top = (int) Math.rint((img.height() - oh) / 2.0);
        int left = (int) Math.rint((img.width() - ow) / 2.0);
        float[] px = img.pixels();
        int c = channels;
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int src = ((top + y) * img.width() + left + x) * c;
                for (int k = 0; k < c; k++) {
                    float v = preprocessing.normalize(px[src + k], k);
                    int at = nhwc ? (y * ow + x) * c + k : (k * oh + y) * ow + x;
                    dst[offset + at] = v;
                }
            }
        }
    }

    /** Bilinear resampling with half-pixel centres: source = (dst + 0.5) * in / out - 0.5, clamped. */
    static RawImage bilinear(RawImage in, int[] size) {
        int oh = size[0];
        int ow = size[1];
        if (oh == in.height() && ow == in.width()) {
            return in;
        }
        int c = in.channels();
        int iw = in.width();
        float[] src = in.pixels();
        float[] dst = new float[oh * ow * c];
        int[] x0 = new int[ow];
        int[] x1 = new int[ow];
        double[] wx = new double[ow];
        for (int x = 0; x < ow; x++) {
            double sx = sourceCoordinate(x, iw, ow);
            x0[x] = (int) sx;
            x1[x] = Math.min(x0[x] + 1, iw - 1);
            wx[x] = sx - x0[x];
        }
        for (int y = 0; y < oh; y++) {
            double sy = sourceCoordinate(y, in.height(), oh);
            int y0 = (int) sy;
            int y1 = Math.min(y0 + 1, in.height() - 1);
            double wy = sy - y0;
            for (int x = 0; x < ow; x++) {
                for (int k = 0; k < c; k++) {
                    double top = src[(y0 * iw + x0[x]) * c + k] * (1 - wx[x]) + src[(y0 * iw + x1[x]) * c + k] * wx[x];
                    double bottom = src[(y1 * iw + x0[x]) * c + k] * (1 - wx[x]) + src[(y1 * iw + x1[x]) * c + k] * wx[x];
                    dst[(y * ow + x) * c + k] = (float) (top * (1 - wy) + bottom * wy);
                }
            }
        }
        return new RawImage(oh, ow, c, dst);
    }

    private static double sourceCoordinate(int dst, int in, int out) {
        double s = (dst + 0.5) * in / out - 0.5;
        return Math.min(Math.max(s, 0), in - 1);
    }
}
