package dev.slimnx.passes.train;

import java.nio.file.Path;

/**
 * Hears about training as it goes: a progress bar, a log, a test. Called on the training thread;
 * an exception thrown here stops training.
 */
@FunctionalInterface
public interface TrainingListener {
    /** A listener that ignores everything. */
    TrainingListener NONE = report -> {
    };

    /**
     * What one step did.
     *
     * @param step the step just done, from 1
     * @param totalSteps the steps of the whole run
     * @param epoch the epoch it belongs to, from 0
     * @param loss the loss of the batch, before the update
     * @param learningRate the rate the update used
     * @param gradientNorm the global L2 norm of the gradients before clipping
     * @param seconds wall time since training started
     */
    record StepReport(long step, long totalSteps, int epoch, double loss, double learningRate, double gradientNorm,
                      double seconds) {
    }

    /**
     * @param report the step just done
     */
    void onStep(StepReport report);

    /**
     * @param model the checkpoint model just written (its JSON sidecar is next to it)
     * @param step the step it holds the weights of
     */
    default void onCheckpoint(Path model, long step) {
    }
}
