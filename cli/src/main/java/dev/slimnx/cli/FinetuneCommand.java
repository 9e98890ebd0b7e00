package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.ExternalDataPolicy;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.passes.train.Distillation;
import dev.slimnx.passes.train.Optimizer;
import dev.slimnx.passes.train.TrainerOptions;
import dev.slimnx.passes.train.TrainingData;
import dev.slimnx.passes.train.TrainingResult;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.DataSpec;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code slimnx finetune}: trains a model's weights on ONNX Runtime (the gradient model of
 * {@code passes.autodiff}, driven by {@code passes.train}), optionally distilling from a teacher,
 * and writes the model with the trained weights. For a reference model (the input, or else the
 * teacher), {@code --data} defaults to its 5k training subset and the summary gives top-1 on its
 * test set before and after.
 */
@Command(name = "finetune", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Fine-tune a model's weights, e.g. to recover accuracy after compression.",
                "Loss: cross-entropy against the labels; with --teacher, alpha*CE + (1-alpha)*KL(T);",
                "KL alone when the data has no labels.",
                "A reference model (as MODEL or --teacher) brings its training subset and test set.",
                "--seed also seeds the order of the data."})
public final class FinetuneCommand implements Callable<Integer>, CheckedOptions {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "MODEL", description = "the model to fine-tune")
    Path input;

    @Option(names = {"-o", "--output"}, required = true, paramLabel = "OUT", description = "where to write the fine-tuned model")
    Path output;

    @Option(names = "--data", paramLabel = "DATA",
            description = "training data: IDX file or folder (train split by default), image folder, .npz with labels")
    Path dataPath;

    @Option(names = "--teacher", paramLabel = "MODEL", description = "distil from this model (usually the original before compression)")
    Path teacherPath;

    @Option(names = "--epochs", paramLabel = "N", description = "passes over the data (default: 1 unless --steps)")
    Integer epochs;

    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps, instead of --epochs")
    Long steps;

    @Option(names = "--lr", paramLabel = "X", description = "peak learning rate (default: 0.02 for sgd, 0.001 for adamw)")
    Double lr;

    @Option(names = "--batch", paramLabel = "N", defaultValue = "64", description = "items per step (default: ${DEFAULT-VALUE})")
    int batch;

    @Option(names = "--optimizer", paramLabel = "sgd|adamw", defaultValue = "sgd",
            description = "sgd: Nesterov momentum 0.9; adamw: betas 0.9, 0.999 (default: ${DEFAULT-VALUE})")
    String optimizer;

    @Option(names = "--weight-decay", paramLabel = "X",
            description = "weight decay of matrices and kernels (default: 0 for sgd, 0.05 for adamw)")
    Double weightDecay;

    @Option(names = "--warmup-steps", paramLabel = "N", description = "linear warm-up before the cosine (default: 10%% of the steps)")
    Long warmupSteps;

    @Option(names = "--clip-norm", paramLabel = "X", defaultValue = "1",
            description = "clip gradients to this global norm, 0 for none (default: ${DEFAULT-VALUE})")
    double clipNorm;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "2",
            description = "distillation temperature (default: ${DEFAULT-VALUE})")
    double temperature;

    @Option(names = "--alpha", paramLabel = "A", defaultValue = "0.5",
            description = "weight of the cross-entropy against labels when distilling, in [0, 1] (default: ${DEFAULT-VALUE})")
    double alpha;

    @Option(names = "--freeze", paramLabel = "PATTERN",
            description = "regular expression: initializers whose name contains a match keep their values")
    String freeze;

    @Option(names = "--output-name", paramLabel = "NAME", description = "the model output the loss is taken over (default: the first)")
    String lossOutput;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "0",
            description = "write a checkpoint every N steps, 0 for none (default: ${DEFAULT-VALUE})")
    long checkpointEvery;

    @Option(names = "--checkpoint-dir", paramLabel = "DIR", description = "checkpoint folder (default: OUT.checkpoints)")
    Path checkpointDir;

    @Option(names = "--threads", paramLabel = "N", defaultValue = "0",
            description = "ONNX Runtime intra-op threads, 0 for its default (default: ${DEFAULT-VALUE})")
    int threads;

    @Option(names = "--force", description = "allow OUT to be the input file itself")
    boolean force;

    @Mixin
    DataOptions data;

    @Override
    public Integer call() throws Exception {
        TrainerOptions options = options();
        OutputFiles.check(input, output, force);
        if (checkpointDir != null && Files.exists(checkpointDir) && !Files.isDirectory(checkpointDir)) {
            throw new UserError(checkpointDir + ": is a file; --checkpoint-dir needs a folder");
        }
        Model model = OnnxReader.read(input);
        Model teacher = teacherPath == null ? null : OnnxReader.read(teacherPath);
        Recovery.checkBatchDim(input, model, batch);
        // NOTE: a compressed copy of a reference model, distilled from it, has that model's task and
        // data, so the reference the teacher is serves it too
        ReferenceModels registry = Recovery.registryOrNull();
        Optional<ReferenceModel> reference = Recovery.identify(registry, input, teacherPath);
        DataSpec dataSpec = Recovery.trainingData(dataPath, data, registry, reference, "give --data DATA (a reference"
                + " model, as MODEL or --teacher, brings its own training subset; " + input + " is not one)");
        TrainingData training = Recovery.load(dataSpec, model, batch);
        if (!training.labelled() && teacher == null) {
            throw new UserError((dataSpec.source() == null ? "synthetic data" : dataSpec.source())
                    + ": has no labels; give labelled data, or --teacher MODEL to distil from");
        }
        long total = Recovery.totalSteps(options, training.batchesPerEpoch());
        if (warmupSteps == null) {
            options = Recovery.withDefaultWarmup(options, training.batchesPerEpoch());
        } else if (warmupSteps >= total && warmupSteps > 0) {
            throw new UserError("--warmup-steps " + warmupSteps + " must be fewer than the run's " + total + " steps");
        }
        PrintWriter out = spec.commandLine().getOut();
        String logits = lossOutput != null ? lossOutput : model.graph().outputs().getFirst().name();
        QuantEvaluation evaluation = training.labelled()
                ? Recovery.referenceTestSet(registry, reference, model, logits, threads) : null;
        double before = evaluation == null ? Double.NaN : evaluation.top1(model);

        Distillation distillation = teacher == null ? null : Distillation.of(teacher, temperature, alpha);
        TrainingResult result = Recovery.train(input, model, training, distillation, options,
                spec.commandLine().getErr());
        Recovery.summary(out, input.getFileName(), result, batch, training.batchesPerEpoch());
        if (evaluation != null) {
            double after = evaluation.top1(result.model());
            out.printf(Locale.ROOT, "top-1 on the reference test set (%d items): %.4f -> %.4f (%+.2f points)%n",
                    evaluation.items(), before, after, 100 * (after - before));
        }
        OnnxWriter.Result written = OnnxWriter.write(result.model(), output, ExternalDataPolicy.keep());
        out.printf("wrote %s (%s)%n", written.model(), Format.bytes(written.modelBytes()));
        return ExitCode.OK;
    }

    @Override
    public void checkOptions() {
        options();
    }

    /** The trainer's options from the command line, every value checked. */
    private TrainerOptions options() {
        if (epochs != null && steps != null) {
            throw new UserError("give --epochs or --steps, not both");
        }
        if (epochs != null && epochs < 1 || steps != null && steps < 1) {
            throw new UserError("--epochs and --steps must be at least 1");
        }
        if (batch < 1) {
            throw new UserError("--batch must be at least 1, got " + batch);
        }
        if (threads < 0) {
            throw new UserError("--threads must be >= 0, got " + threads);
        }
        if (warmupSteps != null && warmupSteps < 0) {
            throw new UserError("--warmup-steps must be >= 0, got " + warmupSteps);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new UserError("--alpha must be in [0, 1], got " + alpha);
        }
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new UserError("--temperature must be positive, got " + temperature);
        }
        if (checkpointEvery < 0) {
            throw new UserError("--checkpoint-every must be >= 0, got " + checkpointEvery);
        }
        if (checkpointDir != null && checkpointEvery == 0) {
            throw new UserError("--checkpoint-dir needs --checkpoint-every N");
        }
        String opt = optimizer.toLowerCase(Locale.ROOT);
        Optimizer o;
        double rate;
        try {
            switch (opt) {
                case "sgd" -> {
                    o = new Optimizer.Sgd(Recovery.SGD_MOMENTUM, true, weightDecay == null ? 0 : weightDecay);
                    rate = lr == null ? Recovery.SGD_LEARNING_RATE : lr;
                }
                case "adamw" -> {
                    o = Optimizer.adamW().withWeightDecay(weightDecay == null ? 0.05 : weightDecay);
                    rate = lr == null ? 1e-3 : lr;
                }
                default -> throw new UserError("--optimizer must be sgd or adamw, got '" + optimizer + "'");
            }
            Path dir = checkpointEvery == 0 ? null
                    : checkpointDir != null ? checkpointDir : output.resolveSibling(output.getFileName() + ".checkpoints");
            long seed = data.seed == null ? 0 : data.seed;
            TrainerOptions t = TrainerOptions.defaults().withOptimizer(o).withLearningRate(rate, 0).withClipNorm(clipNorm)
                    .withFreeze(freeze).withSeed(seed).withCheckpoints(checkpointEvery, dir).withOutput(lossOutput)
                    .withRunOptions(RunOptions.defaults().withIntraOpThreads(threads));
            t = steps != null ? t.withSteps(steps) : t.withEpochs(epochs == null ? 1 : epochs);
            return warmupSteps == null ? t : t.withLearningRate(rate, warmupSteps);
        } catch (IllegalArgumentException e) {
            throw new UserError(e.getMessage().replace("learning rate", "learning rate (--lr)")
                    .replace("weight decay", "--weight-decay").replace("clipping norm", "--clip-norm"));
        }
    }
}
