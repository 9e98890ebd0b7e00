package dev.slimnx.passes.quant;

/**
 * The arithmetic every quantizer shares, as ONNX defines it: {@code QuantizeLinear} computes
 * {@code q = saturate(round(x / scale) + zero_point)} with rounding half to even, and
 * {@code DequantizeLinear} computes {@code x = (q − zero_point)·scale}.
 *
 * <p>Two rules follow the ONNX Runtime quantization tooling, because its CPU kernels assume them:
 * weights are symmetric int8 with zero point 0 and range [−127, 127] (−128 unused, so that int8 ×
 * int8 pairs, 2·127² = 32258, fit the int16 accumulations some kernels use), and every range
 * includes 0, so that 0 (padding, ReLU's output) is exactly representable.
 *
 * <p>uint8 × int8 pairs do not fit int16 (2·255·127 = 64770): ONNX Runtime's u8s8 kernels on x86
 * CPUs without VNNI sum such pairs with saturation ({@code vpmaddubsw}). Weights in the reduced
 * range [−63, 63] ({@link #INT8_REDUCED_MAX}, ONNX Runtime's "reduce_range") keep every pair within
 * it (2·255·63 = 32130).
 */
public final class QuantMath {
    /** Largest magnitude of symmetric int8 weights. */
    public static final int INT8_SYMMETRIC_MAX = 127;
    /** Largest magnitude of reduced-range (7-bit) int8 weights. */
    public static final int INT8_REDUCED_MAX = 63;

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
     * Per-channel symmetric quantization of a weight into {@code [−qmax, qmax]}: channel {@code c}
     * gets the scale {@code max|w[c]| / qmax} ({@link #symmetric}) and {@code q = round(w / scale)}.
     *
     * @param weights the values, row-major
     * @param dims their dims
     * @param axis the channel axis
     * @param qmax the largest quantized magnitude, at most 127
     * @return one scale per channel and the quantized values
     */
    public static PerChannel symmetricPerChannel(float[] weights, long[] dims, int axis, int qmax) {
        if (qmax < 1 || qmax > INT8_SYMMETRIC_MAX) {
            throw new IllegalArgumentException("qmax must be in [1, 127], got " + qmax);
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
