package dev.slimnx.passes.train;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;

/**
 * Trains a model's weights on ONNX Runtime: the gradient model of {@link dev.slimnx.passes.autodiff}
 * runs in one session for the whole run ({@link TrainingSession}), the weights are fed as inputs at
 * every step and updated in Java, and the result is the forward model with the trained weights
 * written back as initializers under their own names.
 *
 * <pre>{@code
 * TrainerOptions options = TrainerOptions.defaults().withSteps(200).withLearningRate(0.02, 20);
 * TrainingResult r = new Trainer(options).train(model, TrainingData.inMemory(inputs, labels, 64),
 *         Distillation.of(original, 2, 0.5), TrainingListener.NONE);
 * OnnxWriter.write(r.model(), out);
 * }</pre>
 *
 * <p>The learning rate follows {@link LearningRateSchedule} (cosine with linear warm-up) over the
 * run's steps: {@code steps}, or {@code epochs} times the batches of an epoch. The data's order in
 * epoch {@code e} comes from a seed derived from {@code (seed, e)} alone, and nothing else in a run
 * is random, so two runs with the same options, data and ONNX Runtime settings produce the same
 * weights, bit for bit, on one intra-op thread. (More threads split ONNX Runtime's reductions in a
 * way that does not depend on timing on the CPU provider in practice, but that is ONNX Runtime's
 * promise to keep, not slimnx's.)
 */
public final class Trainer {
    private static final System.Logger LOG = System.getLogger(Trainer.class.getName());
    /** Mixes the epoch into the seed (the 64-bit golden ratio, as SplittableRandom's own gamma). */
    private static final long GOLDEN = 0x9E3779B97F4A7C15L;

    private final TrainerOptions options;

    /**
     * @param options how to train
     */
    public Trainer(TrainerOptions options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    /**
     * @param model the model to train; not changed
     * @param data the batches
     * @param distillation the teacher to learn from, or null
     * @param listener hears about every step and checkpoint
     * @return the trained model and what the run did
     * @throws IllegalArgumentException when the data has no batches or no labels without a teacher,
     *     the warm-up is not shorter than the run, a batch lacks a model input, or what
     *     {@link TrainingSession#open} refuses
     * @throws dev.slimnx.passes.autodiff.NotDifferentiableException when an op has no backward rule
     * @throws TrainingDivergedException when the loss stops being finite
     * @throws UncheckedIOException when a checkpoint cannot be written
     */
    public TrainingResult train(Model model, TrainingData data, Distillation distillation, TrainingListener listener) {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(listener, "listener");
        long total = totalSteps(data);
        if (options.warmupSteps() >= total && options.warmupSteps() > 0) {
            throw new IllegalArgumentException("the warm-up (" + options.warmupSteps() + " steps) must be shorter than the"
                    + " run (" + total + " steps)");
        }
        LearningRateSchedule schedule = new LearningRateSchedule(options.learningRate(), options.warmupSteps(), total,
                0);
        double[] losses = new double[Math.toIntExact(total)];
        List<Path> checkpoints = new ArrayList<>();
        long t0 = System.nanoTime();
        try (TrainingSession session = TrainingSession.open(model, options, distillation, data.labelled())) {
            long step = 0;
            int epoch = 0;
            while (step < total && (options.epochs() == 0 || epoch < options.epochs())) {
                Iterator<Map<String, Tensor>> batches = data.batches(epoch, epochSeed(options.seed(), epoch));
                boolean any = false;
                while (step < total && batches.hasNext()) {
                    Map<String, Tensor> batch = batches.next();
                    any = true;
                    double lr = schedule.at(step);
                    TrainingSession.Step s = session.step(batch, lr);
                    losses[(int) step] = s.loss();
                    step++;
                    listener.onStep(new TrainingListener.StepReport(step, total, epoch, s.loss(), lr, s.gradientNorm(),
                            (System.nanoTime() - t0) / 1e9));
                    if (options.checkpointEvery() > 0 && step % options.checkpointEvery() == 0) {
                        Path p = checkpoint(session, step, epoch, total, s.loss(), lr, distillation);
                        checkpoints.add(p);
                        listener.onCheckpoint(p, step);
                    }
                }
                if (!any) {
                    throw new IllegalArgumentException("epoch " + epoch + " of the data has no batches");
                }
                epoch++;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            LOG.log(System.Logger.Level.INFO, "trained {0} steps in {1} epochs, {2} s", step, epoch, seconds);
            return new TrainingResult(session.model(), session.lossDescription(), step, epoch,
                    Arrays.copyOf(losses, (int) step), seconds, session.trainedWeights(), session.frozenWeights(),
                    checkpoints);
        }
    }

    /** The run's steps: as given, or epochs times the batches of an epoch (counted when the data does not say). */
    private long totalSteps(TrainingData data) {
        if (options.steps() > 0) {
            return options.steps();
        }
        long perEpoch = data.batchesPerEpoch();
        if (perEpoch < 0) {
            perEpoch = 0;
            for (Iterator<Map<String, Tensor>> it = data.batches(0, epochSeed(options.seed(), 0)); it.hasNext(); ) {
                it.next();
                perEpoch++;
            }
        }
        if (perEpoch == 0) {
            throw new IllegalArgumentException("the data has no batches");
        }
        return Math.multiplyExact(perEpoch, (long) options.epochs());
    }

    /**
     * @param seed the run's seed
     * @param epoch the epoch
     * @return the seed of that epoch's data order
     */
    static long epochSeed(long seed, int epoch) {
        return new SplittableRandom(seed ^ GOLDEN * (epoch + 1L)).nextLong();
    }

    private Path checkpoint(TrainingSession session, long step, int epoch, long total, double loss, double lr,
                            Distillation distillation) {
        Map<String, Object> sidecar = new LinkedHashMap<>();
        sidecar.put("format", "slimnx-checkpoint/1");
        sidecar.put("model", String.format(java.util.Locale.ROOT, "step-%06d.onnx", step));
        sidecar.put("step", step);
        sidecar.put("epoch", epoch);
        sidecar.put("total_steps", total);
        sidecar.put("loss", loss);
        sidecar.put("learning_rate", lr);
        Map<String, Object> schedule = new LinkedHashMap<>();
        schedule.put("kind", "cosine");
        schedule.put("peak", options.learningRate());
        schedule.put("warmup_steps", options.warmupSteps());
        schedule.put("minimum", 0.0);
        sidecar.put("schedule", schedule);
        sidecar.put("optimizer", options.optimizer().describe());
        sidecar.put("clip_norm", options.clipNorm());
        sidecar.put("seed", options.seed());
        sidecar.put("loss_function", session.lossDescription());
        if (distillation != null) {
            sidecar.put("temperature", distillation.temperature());
            sidecar.put("alpha", distillation.alpha());
        }
        sidecar.put("freeze", options.freeze());
        sidecar.put("trained_weights", session.trainedWeights().size());
        sidecar.put("frozen_weights", session.frozenWeights().size());
        try {
            return Checkpoints.write(options.checkpointDir(), step, session.model(), sidecar);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint of step " + step + " to "
                    + options.checkpointDir() + ": " + e.getMessage(), e);
        }
    }
}
