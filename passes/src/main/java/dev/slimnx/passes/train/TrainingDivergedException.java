package dev.slimnx.passes.train;

/**
 * The loss or the gradients stopped being finite numbers, usually because the learning rate is too
 * high for the model. The weights are those of the last finite step; nothing was updated with the
 * bad gradients.
 */
public final class TrainingDivergedException extends RuntimeException {
    private final long step;
    private final double loss;

    /**
     * @param step the step that diverged, from 1
     * @param loss its loss (NaN or infinite, or finite when only the gradients are not)
     * @param gradientNorm the global gradient norm of that step
     */
    public TrainingDivergedException(long step, double loss, double gradientNorm) {
        super("training diverged at step " + step + ": loss " + loss + ", gradient norm " + gradientNorm
                + "; lower the learning rate or clip the gradients");
        this.step = step;
        this.loss = loss;
    }

    /** @return the step that diverged, from 1 */
    public long step() {
        return step;
    }

    /** @return its loss */
    public double loss() {
        return loss;
    }
}
