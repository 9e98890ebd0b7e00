package dev.slimnx.passes.quant;

/**
 * The arithmetic every quantizer shares, as ONNX defines it: {@code QuantizeLinear} computes
 * {@code q = saturate(round(x / scale) + zero_point)} with rounding half to even, and
 * {@code DequantizeLinear} computes {@code x = (q − zero_point)·scale}.
 *
 * <p>Two rules follow the ONNX Runtime quantization tooling, because its CPU kernels assume them:
 * weights are symmetric int8 with zero point 0 and range [−127, 127] (−128 unused, so that the
 * range is symmetric), and every range includes 0, so that 0 (padding, ReLU's output) is exactly
 * representable. Weights multiplied against uint8 activations (dynamic quantization) use the
 * narrower range [−64, 64] of {@link #INT8_REDUCED_MAX}: a wider one overflows the int16 sums of
 * x86 kernels without VNNI.
 */
public final class QuantMath {
    /** Largest magnitude of symmetric int8 weights. */
    public static final int INT8_SYMMETRIC_MAX = 127;
    /**
     * Largest magnitude of symmetric int8 weights that x86 CPUs without VNNI multiply exactly
     * against uint8 activations. Their u8×s8 kernels ({@code vpmaddubsw}) add the products of two
     * neighbouring K elements into an int16 that saturates: {@code 2·255·64 = 32640} fits in
     * [−32768, 32767], while {@code 2·255·127 = 64770} does not. ONNX Runtime's tooling calls this
     * "reduce range".
     */
    public static final int INT8_REDUCED_MAX = 64;

    private QuantMath() {
    }

    /**
     * A scale and zero point.
     *
     * @param scale positive step between neighbouring quantized values
     * @param zeroPoint the quantized value that stands for 0.0
     */
    public record Affine(float scale, int zeroPoint) {
        /** @return q for x, clamped to [lo, hi], rounding half to even */
        public int quantize(double x, int lo, int hi) {
            double q = Math.rint(x / scale) + zeroPoint;
            return (int) Math.max(lo, Math.min(hi, q));
        }

        /** @return the real value q stands for */
        public float dequantize(int q) {
            return (q - zeroPoint) * scale;
        }
    }

    /**
     * Symmetric scale for values of magnitude up to {@code maxAbs}: {@code maxAbs / qmax}; an all
     * zero tensor gets scale 1 so that dividing by it stays defined.
     *
     * @param maxAbs the largest |x|
     * @param qmax the largest quantized magnitude (127 for int8 weights, 7 for int4)
     * @return the scale, zero point 0
     */
    public static Affine symmetric(double maxAbs, int qmax) {
        return new Affine(maxAbs > 0 ? (float) (maxAbs / qmax) : 1f, 0);
    }

    /**
     * Asymmetric scale and zero point mapping [min, max] (widened to include 0) onto [qmin, qmax].
     * The zero point is rounded, so 0.0 maps exactly onto an integer.
     *
     * @param min smallest value observed
     * @param max largest value observed
     * @param qmin smallest quantized value (0 for uint8, −128 for int8)
     * @param qmax largest quantized value (255 for uint8, 127 for int8)
     * @return the affine parameters
     */
    public static Affine asymmetric(double min, double max, int qmin, int qmax) {
        double lo = Math.min(min, 0);
        double hi = Math.max(max, 0);
        if (hi - lo <= 0) {
            return new Affine(1f, qmin < 0 ? 0 : qmin);
        }
        float scale = (float) ((hi - lo) / (qmax - qmin));
        int zero = (int) Math.max(qmin, Math.min(qmax, Math.rint(qmin - lo / scale)));
        return new Affine(scale, zero);
    }

    /**
     * Per-channel symmetric int8 quantization of a weight, channels along {@code axis}.
     *
     * @param weights the values, row-major
     * @param dims their dims
     * @param axis the channel axis
     * @return one scale per channel and the quantized values
     */
    public static PerChannel symmetricPerChannel(float[] weights, long[] dims, int axis) {
        return symmetricPerChannel(weights, dims, axis, INT8_SYMMETRIC_MAX);
    }

    /**
     * Per-channel symmetric int8 quantization with a chosen range: channel {@code c} gets scale
     * {@code max|w[c]| / qmax} and values in [−qmax, qmax].
     *
     * @param weights the values, row-major
     * @param dims their dims
     * @param axis the channel axis
     * @param qmax the largest quantized magnitude, 1 to 127 ({@link #INT8_SYMMETRIC_MAX},
     *     {@link #INT8_REDUCED_MAX})
     * @return one scale per channel and the quantized values
     * @throws IllegalArgumentException if qmax is outside [1, 127]
     */
    public static PerChannel symmetricPerChannel(float[] weights, long[] dims, int axis, int qmax) {
        if (qmax < 1 || qmax > INT8_SYMMETRIC_MAX) {
            throw new IllegalArgumentException("qmax must be 1 to 127, got " + qmax);
        }
        int channels = Math.toIntExact(dims[axis]);
        long inner = 1;
        for (int i = axis + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        int innerSize = Math.toIntExact(inner);
        double[] maxAbs = new double[channels];
        for (int i = 0; i < weights.length; i++) {
            int c = (i / innerSize) % channels;
            maxAbs[c] = Math.max(maxAbs[c], Math.abs(weights[i]));
        }
        float[] scales = new float[channels];
        Affine[] affine = new Affine[channels];
        for (int c = 0; c < channels; c++) {
            affine[c] = symmetric(maxAbs[c], qmax);
            scales[c] = affine[c].scale();
        }
        byte[] q = new byte[weights.length];
        for (int i = 0; i < weights.length; i++) {
            int c = (i / innerSize) % channels;
            q[i] = (byte) affine[c].quantize(weights[i], -qmax, qmax);
        }
        return new PerChannel(scales, q);
    }

    /**
     * @param scales one per channel
     * @param values the quantized weight, same layout as the float one
     */
    public record PerChannel(float[] scales, byte[] values) {
    }
}
