package dev.slimnx.passes.train;

/**
 * A cosine learning-rate schedule with a linear warm-up (Loshchilov and Hutter's SGDR without
 * restarts, as timm and Hugging Face use it for fine-tuning).
 *
 * <p>For step {@code s} counted from 0 of {@code S} steps, peak rate {@code η}, {@code W} warm-up
 * steps and final rate {@code η_min}:
 * <ul>
 *   <li>{@code s < W}: {@code η·(s + 1) / W}, so the first step already moves the weights (a
 *       warm-up from {@code η·s/W} would waste step 0 at rate 0);</li>
 *   <li>otherwise: {@code η_min + (η - η_min)·(1 + cos(π·p)) / 2} with
 *       {@code p = (s - W) / (S - W)}: the peak at {@code s = W}, falling to just above
 *       {@code η_min} at the last step.</li>
 * </ul>
 *
 * @param peak η, the rate after the warm-up
 * @param warmupSteps W, 0 for none
 * @param totalSteps S, the steps of the whole run
 * @param minimum η_min, the rate the cosine falls towards
 */
public record LearningRateSchedule(double peak, long warmupSteps, long totalSteps, double minimum) {

    /**
     * @throws IllegalArgumentException when a rate is negative or not finite, the minimum exceeds
     *     the peak, there are no steps, or the warm-up is not shorter than the run
     */
    public LearningRateSchedule {
        if (!(peak > 0) || Double.isInfinite(peak)) {
            throw new IllegalArgumentException("the learning rate must be finite and positive, got " + peak);
        }
        if (!(minimum >= 0 && minimum <= peak)) {
            throw new IllegalArgumentException("the minimum learning rate must be in [0, " + peak + "], got " + minimum);
        }
        if (totalSteps < 1) {
            throw new IllegalArgumentException("a schedule needs at least one step, got " + totalSteps);
        }
        if (warmupSteps < 0 || warmupSteps >= totalSteps && warmupSteps > 0) {
            throw new IllegalArgumentException("warm-up steps must be in [0, " + totalSteps + "), got " + warmupSteps);
        }
    }

    /**
     * @param peak η
     * @param warmupSteps W
     * @param totalSteps S
     * @return the schedule falling to 0
     */
    public static LearningRateSchedule cosine(double peak, long warmupSteps, long totalSteps) {
        return new LearningRateSchedule(peak, warmupSteps, totalSteps, 0);
    }

    /**
     * @param step the step, from 0
     * @return its learning rate
     * @throws IllegalArgumentException when the step is outside [0, totalSteps)
     */
    public double at(long step) {
        if (step < 0 || step >= totalSteps) {
            throw new IllegalArgumentException("step " + step + " is outside [0, " + totalSteps + ")");
        }
        if (step < warmupSteps) {
            return peak * (step + 1) / warmupSteps;
        }
        double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
        return minimum + (peak - minimum) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}
