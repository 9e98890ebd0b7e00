package dev.slimnx.passes.train;

import dev.slimnx.runtime.RunOptions;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * How to train. Start from {@link #defaults()} and change what differs.
 *
 * @param output the model output the loss is taken over, or null for the first graph output
 * @param epochs passes over the data; 0 when {@code steps} bounds the run
 * @param steps optimizer steps; 0 when {@code epochs} bounds the run
 * @param optimizer the optimizer
 * @param learningRate the peak of the cosine schedule
 * @param warmupSteps steps of linear warm-up before the cosine
 * @param clipNorm the global gradient norm to clip to, 0 for no clipping
 * @param freeze a regular expression: initializers whose name it finds (anywhere in the name:
 *     anchor with {@code ^...$}) stay initializers and keep their values; null freezes none
 * @param seed seeds the order of the data in every epoch
 * @param checkpointEvery write a checkpoint every this many steps, 0 for none
 * @param checkpointDir where checkpoints go (created when missing); needed when checkpointEvery &gt; 0
 * @param runOptions how the gradient and teacher sessions run
 */
public record TrainerOptions(String output, int epochs, long steps, Optimizer optimizer, double learningRate,
                             long warmupSteps, double clipNorm, String freeze, long seed, long checkpointEvery,
                             Path checkpointDir, RunOptions runOptions) {
    /**
     * @throws IllegalArgumentException when not exactly one of epochs and steps is positive, a value
     *     is out of range, the freeze pattern does not compile, or checkpoints have no folder
     */
    public TrainerOptions {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(runOptions, "runOptions");
        if (epochs < 0 || steps < 0 || (epochs > 0) == (steps > 0)) {
            throw new IllegalArgumentException("give a number of epochs or of steps, exactly one of them; got epochs "
                    + epochs + ", steps " + steps);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("the learning rate must be finite and positive, got " + learningRate);
        }
        if (warmupSteps < 0) {
            throw new IllegalArgumentException("warm-up steps must be >= 0, got " + warmupSteps);
        }
        if (!(clipNorm >= 0) || Double.isInfinite(clipNorm)) {
            throw new IllegalArgumentException("the clipping norm must be finite and >= 0 (0: no clipping), got "
                    + clipNorm);
        }
        if (freeze != null) {
            try {
                Pattern.compile(freeze);
            } catch (PatternSyntaxException e) {
                throw new IllegalArgumentException("the freeze pattern '" + freeze + "' is not a regular expression: "
                        + e.getDescription());
            }
        }
        if (checkpointEvery < 0) {
            throw new IllegalArgumentException("checkpoint interval must be >= 0, got " + checkpointEvery);
        }
        if (checkpointEvery > 0 && checkpointDir == null) {
            throw new IllegalArgumentException("checkpoints need a folder");
        }
    }

    /**
     * NOTE: SGD with Nesterov momentum at 0.02 and clipping at norm 1 recovered a perturbed reference
     * ViT better in 100 steps than AdamW did at any rate tried (see VitRecoveryTest), so recovery
     * fine-tuning starts from it.
     *
     * @return one epoch, SGD with Nesterov momentum 0.9 at 0.02 without weight decay, no warm-up,
     *     clipping at norm 1, no freezing, seed 0, no checkpoints, ONNX Runtime's defaults
     */
    public static TrainerOptions defaults() {
        return new TrainerOptions(null, 1, 0, new Optimizer.Sgd(0.9, true, 0), 0.02, 0, 1.0, null, 0, 0, null,
                RunOptions.defaults());
    }

    /** @return the compiled freeze pattern, or null */
    public Pattern freezePattern() {
        return freeze == null ? null : Pattern.compile(freeze);
    }

    /**
     * @param name the output the loss is taken over
     * @return these options with it
     */
    public TrainerOptions withOutput(String name) {
        return new TrainerOptions(name, epochs, steps, optimizer, learningRate, warmupSteps, clipNorm, freeze, seed,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param n epochs (steps becomes 0)
     * @return these options bounded by epochs
     */
    public TrainerOptions withEpochs(int n) {
        return new TrainerOptions(output, n, 0, optimizer, learningRate, warmupSteps, clipNorm, freeze, seed,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param n steps (epochs becomes 0)
     * @return these options bounded by steps
     */
    public TrainerOptions withSteps(long n) {
        return new TrainerOptions(output, 0, n, optimizer, learningRate, warmupSteps, clipNorm, freeze, seed,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param o the optimizer
     * @return these options with it
     */
    public TrainerOptions withOptimizer(Optimizer o) {
        return new TrainerOptions(output, epochs, steps, o, learningRate, warmupSteps, clipNorm, freeze, seed,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param lr the peak learning rate
     * @param warmup warm-up steps
     * @return these options with that schedule
     */
    public TrainerOptions withLearningRate(double lr, long warmup) {
        return new TrainerOptions(output, epochs, steps, optimizer, lr, warmup, clipNorm, freeze, seed,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param norm the clipping norm, 0 for none
     * @return these options with it
     */
    public TrainerOptions withClipNorm(double norm) {
        return new TrainerOptions(output, epochs, steps, optimizer, learningRate, warmupSteps, norm, freeze, seed,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param pattern the freeze pattern, or null
     * @return these options with it
     */
    public TrainerOptions withFreeze(String pattern) {
        return new TrainerOptions(output, epochs, steps, optimizer, learningRate, warmupSteps, clipNorm, pattern, seed,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param s the seed
     * @return these options with it
     */
    public TrainerOptions withSeed(long s) {
        return new TrainerOptions(output, epochs, steps, optimizer, learningRate, warmupSteps, clipNorm, freeze, s,
                checkpointEvery, checkpointDir, runOptions);
    }

    /**
     * @param every steps between checkpoints, 0 for none
     * @param dir their folder
     * @return these options with checkpoints
     */
    public TrainerOptions withCheckpoints(long every, Path dir) {
        return new TrainerOptions(output, epochs, steps, optimizer, learningRate, warmupSteps, clipNorm, freeze, seed,
                every, dir, runOptions);
    }

    /**
     * @param options how the sessions run
     * @return these options with them
     */
    public TrainerOptions withRunOptions(RunOptions options) {
        return new TrainerOptions(output, epochs, steps, optimizer, learningRate, warmupSteps, clipNorm, freeze, seed,
                checkpointEvery, checkpointDir, options);
    }
}
