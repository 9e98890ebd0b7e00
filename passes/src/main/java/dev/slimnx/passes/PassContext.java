package dev.slimnx.passes;

import dev.slimnx.graph.Model;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * What a pass may use besides the model: seeded randomness, a runtime to run a model (constant
 * folding, calibration, gradients) and a place to report progress on long work.
 *
 * @param seed the seed every random choice derives from, so a pipeline repeats exactly
 * @param runOptions how passes run models; the default is ONNX Runtime on CPU with its own graph
 *     optimizations off, so what a pass measures is the model as written
 * @param progress receives progress of long passes
 */
public record PassContext(long seed, RunOptions runOptions, PassProgress progress) {
    public PassContext {
        Objects.requireNonNull(runOptions, "runOptions");
        Objects.requireNonNull(progress, "progress");
    }

    /** @return seed 0, {@link RunOptions#reference()} with two threads, no progress output */
    public static PassContext defaults() {
        return new PassContext(0, RunOptions.reference().withIntraOpThreads(2), PassProgress.NONE);
    }

    /**
     * @param newSeed the seed
     * @return this context with another seed
     */
    public PassContext withSeed(long newSeed) {
        return new PassContext(newSeed, runOptions, progress);
    }

    /**
     * @param listener where progress goes
     * @return this context reporting progress there
     */
    public PassContext withProgress(PassProgress listener) {
        return new PassContext(seed, runOptions, listener);
    }

    /**
     * @param purpose what the numbers are for (a pass id, say); different purposes get independent
     *     streams, so adding a random choice in one pass does not shift another's
     * @return a random generator determined by the seed and the purpose
     */
    public SplittableRandom random(String purpose) {
        return new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * purpose.hashCode()));
    }

    /**
     * @param model the model to run (it is serialized; later changes do not reach the session)
     * @return a runner on this context's options; the caller closes it
     */
    public ModelRunner open(Model model) {
        return ModelRunner.open(model, runOptions);
    }
}
