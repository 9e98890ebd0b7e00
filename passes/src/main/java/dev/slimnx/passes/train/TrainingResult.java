package dev.slimnx.passes.train;

import dev.slimnx.graph.Model;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/**
 * What a training run produced.
 *
 * @param model the forward model with the trained weights as initializers under their own names;
 *     everything else as it was
 * @param loss what was minimized, e.g. {@code 0.5·cross-entropy + 0.5·KL(T=4)}
 * @param steps steps done
 * @param epochs epochs begun
 * @param losses the loss of every step, in order
 * @param seconds wall time of the run
 * @param trained the weights that were trained
 * @param frozen the float weights kept as they were
 * @param checkpoints the checkpoint models written, in order
 */
public record TrainingResult(Model model, String loss, long steps, int epochs, double[] losses, double seconds,
                             List<String> trained, List<String> frozen, List<Path> checkpoints) {
    public TrainingResult {
        losses = losses.clone();
        trained = List.copyOf(trained);
        frozen = List.copyOf(frozen);
        checkpoints = List.copyOf(checkpoints);
    }

    @Override
    public double[] losses() {
        return losses.clone();
    }

    /**
     * @param fraction the share of the run at its start or end, in (0, 1]
     * @param atEnd true for the last steps, false for the first
     * @return the mean loss over that share of the steps (at least one step)
     */
    public double meanLoss(double fraction, boolean atEnd) {
        if (losses.length == 0) {
            return Double.NaN;
        }
        int n = Math.max(1, (int) Math.round(losses.length * fraction));
        int from = atEnd ? losses.length - n : 0;
        return Arrays.stream(losses, from, from + n).average().orElse(Double.NaN);
    }
}
