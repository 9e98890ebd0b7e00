package dev.slimnx.passes.train;

import java.util.List;

/**
 * Clipping by global norm (Pascanu et al., 2013), as PyTorch's {@code clip_grad_norm_}: the L2 norm
 * {@code ‖g‖} of all gradients taken together; when it exceeds {@code c}, every gradient is scaled
 * by {@code c / (‖g‖ + 1e-6)}, which keeps the direction of the step and bounds its size.
 */
public final class GradientClipping {
    /** Added to the norm before dividing, as PyTorch does, so a norm just above {@code c} lands just below it. */
    static final double EPSILON = 1e-6;

    private GradientClipping() {
    }

    /**
     * @param gradients the gradients
     * @return their global L2 norm, accumulated in double
     */
    public static double globalNorm(List<float[]> gradients) {
        double sum = 0;
        for (float[] g : gradients) {
            for (float v : g) {
                sum += (double) v * v;
            }
        }
        return Math.sqrt(sum);
    }

    /**
     * Scales the gradients in place when their global norm exceeds {@code maxNorm}.
     *
     * @param gradients the gradients, changed in place when clipped
     * @param maxNorm c &gt; 0
     * @return the global norm before clipping (NaN or infinite when a gradient is)
     * @throws IllegalArgumentException when maxNorm is not positive
     */
    public static double clipByGlobalNorm(List<float[]> gradients, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new IllegalArgumentException("the clipping norm must be positive, got " + maxNorm);
        }
        double norm = globalNorm(gradients);
        if (norm > maxNorm && Double.isFinite(norm)) {
            double scale = maxNorm / (norm + EPSILON);
            for (float[] g : gradients) {
                for (int i = 0; i < g.length; i++) {
                    g[i] = (float) (g[i] * scale);
                }
            }
        }
        return norm;
    }
}
