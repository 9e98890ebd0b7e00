package dev.slimnx.passes.train;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.TensorData;
import dev.slimnx.passes.autodiff.GradientBuilder;
import dev.slimnx.passes.autodiff.GradientModel;
import dev.slimnx.passes.autodiff.GradientSpec;
import dev.slimnx.passes.autodiff.Loss;
import dev.slimnx.passes.autodiff.NotDifferentiableException;
import dev.slimnx.runtime.ModelRunner;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One model being trained: its gradient model open in one ONNX Runtime session for every step, the
 * teacher (when distilling) in another, the trained weights in Java arrays with their optimizer
 * state. Each {@link #step} feeds a batch and the current weights, reads back the loss and the
 * gradients, clips them, and updates the weights. {@link Trainer} drives it over epochs with a
 * schedule; benchmarks time single steps.
 *
 * <p>Which weights train: every FLOAT initializer the loss reaches through differentiable ops,
 * except those the freeze pattern finds, scalars (the constants of exported math, GELU's √2 or
 * attention's √d, once folded into initializers) and a BatchNormalization's running mean and
 * variance (statistics of the training data, not parameters). The rest stay initializers of the
 * gradient model, so ONNX Runtime treats them as constants.
 *
 * <p>Weight decay applies to weights of rank 2 or more (matrices, kernels, embeddings), not to
 * biases and normalization scales, as is usual for transformers.
 *
 * <p>Not thread-safe; {@link #close()} releases the sessions.
 */
public final class TrainingSession implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TrainingSession.class.getName());

    /**
     * What one step did.
     *
     * @param loss the loss of the batch, before the update
     * @param gradientNorm the global gradient norm before clipping
     */
    public record Step(double loss, double gradientNorm) {
    }

    /** A weight being trained: current values and optimizer state. */
    private record Trainable(String name, String input, String gradient, Tensor original, long[] dims, float[] values,
                             Optimizer.State state, boolean decay) {
    }

    private final Model forward;
    private final GradientModel gradients;
    private final ModelRunner runner;
    private final Teacher teacher;
    private final List<String> modelInputs;
    private final String labelsInput;
    private final List<Trainable> weights;
    private final List<String> frozen;
    private final Optimizer optimizer;
    private final double clipNorm;
    private final String lossDescription;
    private long steps;
    private boolean closed;

    /** The teacher's session, its inputs, the output learnt from and the gradient model's input it feeds. */
    private record Teacher(ModelRunner runner, List<String> inputs, String output, String feeds) {
    }

    private TrainingSession(Model forward, GradientModel gradients, ModelRunner runner, Teacher teacher,
                            String labelsInput, List<Trainable> weights, List<String> frozen, Optimizer optimizer,
                            double clipNorm, String lossDescription) {
        this.forward = forward;
        this.gradients = gradients;
        this.runner = runner;
        this.teacher = teacher;
        this.modelInputs = graphInputs(forward);
        this.labelsInput = labelsInput;
        this.weights = weights;
        this.frozen = frozen;
        this.optimizer = optimizer;
        this.clipNorm = clipNorm;
        this.lossDescription = lossDescription;
    }

    /**
     * Builds the gradient model and opens the sessions.
     *
     * <p>The loss: cross-entropy against the labels without distillation;
     * {@code α·CE + (1 - α)·KL(T)} with distillation and labels ({@code α} of 1 is cross-entropy
     * alone and the teacher is not run, {@code α} of 0 is KL alone); KL alone with distillation
     * and no labels.
     *
     * @param forward the model to train; not changed
     * @param options the output, optimizer, clipping, freeze pattern and run options (the epochs,
     *     steps, schedule and checkpoints are the {@link Trainer}'s)
     * @param distillation the teacher to learn from, or null
     * @param labelled whether the batches will carry {@link TrainingData#LABELS}
     * @return the open session
     * @throws IllegalArgumentException when the data has no labels and there is no teacher, the
     *     output does not exist or is not class scores, every weight is frozen, or a trained weight
     *     is not FLOAT
     * @throws NotDifferentiableException when an op between the weights and the loss has no backward rule
     * @throws dev.slimnx.runtime.RuntimeFailure when ONNX Runtime refuses a model
     */
    public static TrainingSession open(Model forward, TrainerOptions options, Distillation distillation,
                                       boolean labelled) {
        Objects.requireNonNull(forward, "forward");
        Objects.requireNonNull(options, "options");
        Graph g = forward.graph();
        String output = options.output() != null ? options.output()
                : g.outputs().isEmpty() ? null : g.outputs().getFirst().name();
        if (output == null) {
            throw new IllegalArgumentException("the model has no output to train");
        }
        boolean useTeacher = distillation != null && (!labelled || distillation.alpha() < 1);
        boolean useLabels = labelled && (distillation == null || distillation.alpha() > 0);
        if (!useTeacher && !useLabels) {
            throw new IllegalArgumentException("the data has no labels: give labelled data or a teacher to distil from");
        }
        Loss loss;
        String description;
        if (useTeacher && useLabels) {
            loss = Loss.distillation(distillation.alpha(), distillation.temperature());
            description = String.format(Locale.ROOT, "%s·cross-entropy + %s·KL(T=%s)", num(distillation.alpha()),
                    num(1 - distillation.alpha()), num(distillation.temperature()));
        } else if (useTeacher) {
            loss = Loss.klDivergence(distillation.temperature());
            description = "KL(T=" + num(distillation.temperature()) + ") to the teacher";
        } else {
            loss = Loss.crossEntropy();
            description = "cross-entropy";
        }

        GradientBuilder builder = new GradientBuilder();
        GradientSpec spec = new GradientSpec(List.of(output), loss, List.of(), List.of(), false);
        GradientModel gm = builder.build(forward, spec);
        Pattern freeze = options.freezePattern();
        Set<String> statistics = batchNormStatistics(g);
        List<String> chosen = new ArrayList<>();
        for (GradientModel.WeightGradient w : gm.weights()) {
            boolean frozenByUser = freeze != null && freeze.matcher(w.weight()).find();
            if (!frozenByUser && w.initial().numElements() > 1 && !statistics.contains(w.weight())) {
                chosen.add(w.weight());
            }
        }
        if (chosen.isEmpty()) {
            throw new IllegalArgumentException("every weight is frozen"
                    + (freeze != null ? " (the pattern '" + freeze.pattern() + "' finds all " + gm.weights().size()
                    + " trainable ones)" : "") + "; nothing to train");
        }
        if (chosen.size() < gm.weights().size()) {
            gm = builder.build(forward, spec.withWeights(chosen));
        }
        List<String> frozen = new ArrayList<>();
        Set<String> chosenSet = new HashSet<>(chosen);
        for (Value v : g.initializers()) {
            DataType t = v.initializer().dataType();
            if ((t == DataType.FLOAT || t == DataType.DOUBLE) && !chosenSet.contains(v.name())) {
                frozen.add(v.name());
            }
        }

        List<Trainable> weights = new ArrayList<>();
        for (GradientModel.WeightGradient w : gm.weights()) {
            Tensor t = w.initial();
            if (t.dataType() != DataType.FLOAT) {
                throw new IllegalArgumentException("weight '" + w.weight() + "' is " + t.dataType()
                        + "; the trainer updates FLOAT weights (freeze it, or convert the model to float32)");
            }
            float[] values = t.toFloatArray();
            weights.add(new Trainable(w.weight(), w.input(), w.gradient(), t, t.dims(), values,
                    options.optimizer().newState(values.length), t.rank() >= 2));
        }
        List<String> refs = gm.referenceInputs();
        String labelsInput = useLabels ? refs.getFirst() : null;
        String teacherFeeds = useTeacher ? refs.getLast() : null;

        ModelRunner runner = ModelRunner.open(gm.model(), options.runOptions());
        Teacher teacher = null;
        if (useTeacher) {
            try {
                Model tm = distillation.teacher();
                List<String> names = tm.graph().outputs().stream().map(Value::name).toList();
                String out = distillation.teacherOutput() != null ? distillation.teacherOutput()
                        : names.contains(output) ? output : names.isEmpty() ? null : names.getFirst();
                if (out == null || !names.contains(out)) {
                    throw new IllegalArgumentException("the teacher has no output " + (out == null ? "" : "'" + out + "'")
                            + "; its outputs are " + names);
                }
                teacher = new Teacher(ModelRunner.open(tm, options.runOptions()), graphInputs(tm), out, teacherFeeds);
            } catch (RuntimeException e) {
                runner.close();
                throw e;
            }
        }
        LOG.log(System.Logger.Level.INFO, "training {0} of {1} float weights ({2} frozen) on {3} of ''{4}''",
                weights.size(), weights.size() + frozen.size(), frozen.size(), description, output);
        return new TrainingSession(forward.copy(), gm, runner, teacher, labelsInput, weights, frozen,
                options.optimizer(), options.clipNorm(), description);
    }

    /**
     * One optimizer step on one batch: run the teacher (when distilling), run the gradient model
     * with the current weights, clip the gradients, update the weights.
     *
     * @param batch a tensor per model input, plus {@link TrainingData#LABELS} when labelled
     * @param learningRate the rate of this step
     * @return the loss and gradient norm
     * @throws IllegalArgumentException when the batch lacks a model input or the labels
     * @throws TrainingDivergedException when the loss or the gradients are not finite; the weights
     *     are left as they were
     * @throws IllegalStateException when closed
     */
    public Step step(Map<String, Tensor> batch, double learningRate) {
        checkOpen();
        Map<String, Tensor> feeds = new LinkedHashMap<>();
        for (String name : modelInputs) {
            feeds.put(name, require(batch, name, "model input"));
        }
        if (labelsInput != null) {
            Tensor labels = require(batch, TrainingData.LABELS, "labels");
            feeds.put(labelsInput, labels.dataType() == DataType.INT64 ? labels
                    : Tensor.ofLongs(labelsInput, labels.dims(), labels.toLongArray()));
        }
        if (teacher != null) {
            Map<String, Tensor> teacherFeeds = new LinkedHashMap<>();
            for (String name : teacher.inputs()) {
                teacherFeeds.put(name, require(batch, name, "teacher input"));
            }
            feeds.put(teacher.feeds(), teacher.runner().run(teacherFeeds, List.of(teacher.output())).get(teacher.output()));
        }
        for (Trainable w : weights) {
            feeds.put(w.input(), Tensor.ofFloats(w.input(), w.dims(), w.values()));
        }
        Map<String, Tensor> out = runner.run(feeds);
        double loss = out.get(gradients.lossOutput()).toDoubleArray()[0];
        List<float[]> grads = new ArrayList<>(weights.size());
        for (Trainable w : weights) {
            grads.add(out.get(w.gradient()).toFloatArray());
        }
        double norm = clipNorm > 0 ? GradientClipping.clipByGlobalNorm(grads, clipNorm)
                : GradientClipping.globalNorm(grads);
        if (!Double.isFinite(loss) || !Double.isFinite(norm)) {
            throw new TrainingDivergedException(steps + 1, loss, norm);
        }
        for (int i = 0; i < weights.size(); i++) {
            Trainable w = weights.get(i);
            optimizer.update(w.values(), grads.get(i), w.state(), learningRate, w.decay());
        }
        steps++;
        return new Step(loss, norm);
    }

    /**
     * @return a copy of the forward model with the current weights as its initializers, under
     *     their own names; every other part of the model as it was
     */
    public Model model() {
        checkOpen();
        Model m = forward.copy();
        Graph g = m.graph();
        for (Trainable w : weights) {
            g.setInitializerData(g.initializer(w.name()), withValues(w.original(), w.values()));
        }
        return m;
    }

    /** @return steps done */
    public long steps() {
        return steps;
    }

    /** @return the names of the weights being trained, in gradient order */
    public List<String> trainedWeights() {
        return weights.stream().map(Trainable::name).toList();
    }

    /** @return the float initializers kept as they are */
    public List<String> frozenWeights() {
        return List.copyOf(frozen);
    }

    /** @return the loss, in words (e.g. {@code 0.5·cross-entropy + 0.5·KL(T=4)}) */
    public String lossDescription() {
        return lossDescription;
    }

    /** @return the gradient model the session runs */
    public GradientModel gradientModel() {
        return gradients;
    }

    /** Closes the sessions. Closing twice does nothing. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            runner.close();
        } finally {
            if (teacher != null) {
                teacher.runner().close();
            }
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the training session is closed");
        }
    }

    private static Tensor require(Map<String, Tensor> batch, String name, String what) {
        Tensor t = batch.get(name);
        if (t == null) {
            throw new IllegalArgumentException("the batch has no " + what + " '" + name + "'; it has "
                    + batch.keySet().stream().sorted().toList());
        }
        return t;
    }

    /** The inputs a caller feeds (initializers with a graph-input entry excluded). */
    private static List<String> graphInputs(Model m) {
        return m.graph().inputs().stream().filter(v -> !v.isInitializer()).map(Value::name).toList();
    }

    /** Running mean and variance of BatchNormalization nodes (inputs 3 and 4), anywhere in the main graph. */
    private static Set<String> batchNormStatistics(Graph g) {
        Set<String> out = new HashSet<>();
        for (Node n : g.nodes()) {
            if (n.is("BatchNormalization")) {
                for (int k = 3; k < Math.min(5, n.inputs().size()); k++) {
                    if (n.input(k) != null) {
                        out.add(n.input(k).name());
                    }
                }
            }
        }
        return out;
    }

    /** The original tensor (doc string, metadata) with new FLOAT values. */
    static Tensor withValues(Tensor original, float[] values) {
        ByteBuffer buf = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(values);
        return new Tensor(original.name(), DataType.FLOAT.code(), original.dims(), new TensorData.Raw(buf),
                original.docString(), original.metadata(), original.segment(), original.extra());
    }

    private static String num(double v) {
        return new java.math.BigDecimal(v).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
    }
}
