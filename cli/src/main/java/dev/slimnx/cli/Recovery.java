package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.passes.autodiff.NotDifferentiableException;
import dev.slimnx.passes.train.Distillation;
import dev.slimnx.passes.train.Optimizer;
import dev.slimnx.passes.train.Trainer;
import dev.slimnx.passes.train.TrainerOptions;
import dev.slimnx.passes.train.TrainingData;
import dev.slimnx.passes.train.TrainingDivergedException;
import dev.slimnx.passes.train.TrainingListener;
import dev.slimnx.passes.train.TrainingResult;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.Dataset;
import dev.slimnx.validate.data.Datasets;
import dev.slimnx.validate.data.ImagePreprocessing;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * A fine-tune run as {@code slimnx finetune} and {@code slimnx prune --finetune-steps} do it: the
 * defaults of a recovery fine-tune (SGD with Nesterov momentum, learning rate 0.02, clipping at
 * norm 1, 10% warm-up, distillation at T = 2 with α = 0.5), a reference model's training subset and
 * test set, the training itself with a progress bar and the trainer's failures turned into
 * one-line errors, and the summary both commands print.
 */
final class Recovery {
    /** SGD's default peak learning rate. */
    static final double SGD_LEARNING_RATE = 0.02;
    /** SGD's momentum (Nesterov). */
    static final double SGD_MOMENTUM = 0.9;
    /** Default global-norm clipping. */
    static final double CLIP_NORM = 1;
    /** Default distillation temperature. */
    static final double TEMPERATURE = 2;
    /** Default weight of the cross-entropy against labels when distilling. */
    static final double ALPHA = 0.5;
    /** Share of the heap the training data may take. */
    private static final double DATA_HEAP_SHARE = 0.5;

    private Recovery() {
    }

    /**
     * The recovery defaults: SGD Nesterov, clipping at norm 1, seeded data order, no warm-up yet
     * (see {@link #withDefaultWarmup}).
     *
     * @param learningRate peak learning rate
     * @param seed seed of the data order
     * @param threads ONNX Runtime intra-op threads, 0 for its default
     * @return the options, training for one epoch until told otherwise
     * @throws IllegalArgumentException when the learning rate is not positive and finite
     */
    static TrainerOptions sgd(double learningRate, long seed, int threads) {
        return TrainerOptions.defaults().withOptimizer(new Optimizer.Sgd(SGD_MOMENTUM, true, 0))
                .withLearningRate(learningRate, 0).withClipNorm(CLIP_NORM).withSeed(seed)
                .withRunOptions(RunOptions.defaults().withIntraOpThreads(threads));
    }

    /**
     * @param options the options, their learning rate set
     * @param batchesPerEpoch the data's batches per epoch
     * @return the options with a linear warm-up over the first 10% of the run's steps
     */
    static TrainerOptions withDefaultWarmup(TrainerOptions options, long batchesPerEpoch) {
        return options.withLearningRate(options.learningRate(), totalSteps(options, batchesPerEpoch) / 10);
    }

    /**
     * @param options the options
     * @param batchesPerEpoch the data's batches per epoch
     * @return the optimizer steps the run will take
     */
    static long totalSteps(TrainerOptions options, long batchesPerEpoch) {
        return options.steps() > 0 ? options.steps() : batchesPerEpoch * options.epochs();
    }

    /**
     * Refuses a batch size that a model with a fixed batch dimension cannot take.
     *
     * @param file the model's file, for the message
     * @param model the model
     * @param batch items per step
     * @throws UserError when an input's batch dimension is fixed to another size
     */
    static void checkBatchDim(Path file, Model model, int batch) {
        for (Value in : model.graph().inputs()) {
            if (in.isInitializer() || in.shape() == null || in.shape().rank() == 0) {
                continue;
            }
            Dim d = in.shape().dim(0);
            if (d.isKnown() && d.value() > 0 && d.value() != batch) {
                throw new UserError(file + ": input '" + in.name() + "' has a fixed batch size of " + d.value()
                        + "; use --batch " + d.value());
            }
        }
    }

    /**
     * @param registry the reference models, or null when they cannot be located
     * @param files the files that may be a reference model, in order of preference (nulls skipped)
     * @return the first that is one
     * @throws IOException when a file cannot be read
     */
    static Optional<ReferenceModel> identify(ReferenceModels registry, Path... files) throws IOException {
        if (registry == null) {
            return Optional.empty();
        }
        for (Path f : files) {
            if (f != null) {
                Optional<ReferenceModel> m = registry.identify(f);
                if (m.isPresent()) {
                    return m;
                }
            }
        }
        return Optional.empty();
    }

    /** @return the reference models, or null where they cannot be located */
    static ReferenceModels registryOrNull() {
        try {
            return ReferenceModels.locate();
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * @param m a reference model
     * @return true when its first output is a classifier's logits over the dataset's labels
     */
    static boolean isClassifier(ReferenceModel m) {
        return m.task() == ReferenceModel.Task.CLASSIFICATION || m.task() == ReferenceModel.Task.MULTITASK;
    }

    /**
     * @param registry the reference models
     * @param m one of them
     * @param key the data file's key, e.g. {@code calib_images}
     * @param split the IDX split
     * @return that data with the model's preprocessing
     */
    static DataSpec referenceImages(ReferenceModels registry, ReferenceModel m, String key, String split) {
        ReferenceModel.Preprocessing p = m.inputs().get(0).preprocessing();
        return DataSpec.images(registry.dataFile(key), split, new ImagePreprocessing(p.scale(), p.mean(), p.std()));
    }

    /**
     * The training data of a fine-tune: {@code --data} with the data options, else a reference
     * classifier's training subset (5,000 images) with the data options over its defaults.
     *
     * @param dataPath the {@code --data} path, or null
     * @param data the data options
     * @param registry the reference models (may be null when dataPath is given)
     * @param reference the reference model that brings its data, if any
     * @param missing the message when there is neither
     * @return the data spec
     * @throws UserError when there is neither --data nor a reference classifier
     */
    static DataSpec trainingData(Path dataPath, DataOptions data, ReferenceModels registry,
                                 Optional<ReferenceModel> reference, String missing) {
        if (dataPath != null) {
            return data.toSpec(dataPath);
        }
        if (reference.isPresent() && isClassifier(reference.get())) {
            DataSpec d = referenceImages(registry, reference.get(), "calib_images", "train");
            return data.toSpec(d.source(), d);
        }
        throw new UserError(missing);
    }

    /**
     * @param spec the data
     * @param model the model it feeds
     * @param batch items per step
     * @return the data in memory, at most half the heap
     * @throws IOException when it cannot be read
     */
    static TrainingData load(DataSpec spec, Model model, int batch) throws IOException {
        return DatasetTraining.load(spec, model, batch, (long) (Runtime.getRuntime().maxMemory() * DATA_HEAP_SHARE));
    }

    /**
     * Top-1 of the first output on a reference classifier's test set (all 10,000 images).
     *
     * @param registry the reference models
     * @param reference the reference model whose preprocessing applies, if any
     * @param model the model whose inputs the data feeds
     * @param logits the output judged
     * @param threads ONNX Runtime intra-op threads
     * @return the evaluation, or null when there is no reference classifier
     * @throws IOException when the test set cannot be read
     */
    static QuantEvaluation referenceTestSet(ReferenceModels registry, Optional<ReferenceModel> reference, Model model,
                                            String logits, int threads) throws IOException {
        if (reference.isEmpty() || !isClassifier(reference.get())) {
            return null;
        }
        DataSpec test = referenceImages(registry, reference.get(), "test_images", "test");
        List<Batch> batches = new ArrayList<>();
        try (Dataset d = Datasets.open(test, model, "test")) {
            for (Batch b; (b = d.next(250)) != null; ) {
                batches.add(b);
            }
        }
        return new QuantEvaluation(batches, logits, RunOptions.defaults().withIntraOpThreads(threads));
    }

    /**
     * Trains, showing a progress bar on a terminal.
     *
     * @param subject what is trained, for messages
     * @param model the model (not changed)
     * @param data the data
     * @param distillation the teacher, or null
     * @param options the trainer's options
     * @param err where the progress bar and checkpoint lines go
     * @return the result
     * @throws UserError when the model cannot be differentiated, training diverged, or an option
     *     does not fit the model
     */
    static TrainingResult train(Object subject, Model model, TrainingData data, Distillation distillation,
                                TrainerOptions options, PrintWriter err) {
        ProgressBar bar = ProgressBar.forTerminal(err);
        try {
            return new Trainer(options).train(model, data, distillation, new TrainingListener() {
                @Override
                public void onStep(StepReport r) {
                    bar.update(r.step(), r.totalSteps(), String.format(Locale.ROOT, "loss %.4f", r.loss()));
                }

                @Override
                public void onCheckpoint(Path file, long step) {
                    bar.done();
                    err.println("checkpoint " + file);
                    err.flush();
                }
            });
        } catch (NotDifferentiableException e) {
            throw new UserError(subject + ": cannot be fine-tuned: " + e.getMessage());
        } catch (TrainingDivergedException e) {
            throw new UserError(subject + ": " + e.getMessage());
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage());
        } finally {
            bar.done();
        }
    }

    /**
     * Prints what the run did: steps and epochs, time, the loss, the loss early and late, the
     * weights trained and frozen, the checkpoints.
     *
     * @param out where to print
     * @param subject the file name of what was trained
     * @param r the result
     * @param batch items per step
     * @param batchesPerEpoch the data's batches per epoch
     */
    static void summary(PrintWriter out, Object subject, TrainingResult r, int batch, long batchesPerEpoch) {
        out.printf(Locale.ROOT, "fine-tuned %s: %d steps of %d (%.2f epochs) in %.1f s, minimizing %s%n",
                subject, r.steps(), batch, (double) r.steps() / batchesPerEpoch, r.seconds(), r.loss());
        out.printf(Locale.ROOT, "loss %.4f (first 10%% of steps) -> %.4f (last 10%%), final step %.4f%n",
                r.meanLoss(0.1, false), r.meanLoss(0.1, true), r.losses()[r.losses().length - 1]);
        out.printf(Locale.ROOT, "trained %d weight tensor%s, %d frozen%n", r.trained().size(),
                r.trained().size() == 1 ? "" : "s", r.frozen().size());
        if (!r.checkpoints().isEmpty()) {
            out.printf("%d checkpoint(s) in %s%n", r.checkpoints().size(), r.checkpoints().getFirst().getParent());
        }
    }
}
