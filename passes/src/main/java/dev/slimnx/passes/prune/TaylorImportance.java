package dev.slimnx.passes.prune;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.autodiff.GradientBuilder;
import dev.slimnx.passes.autodiff.GradientModel;
import dev.slimnx.passes.autodiff.GradientSpec;
import dev.slimnx.passes.autodiff.GraphEmitter;
import dev.slimnx.passes.autodiff.Loss;
import dev.slimnx.passes.autodiff.NotDifferentiableException;
import dev.slimnx.runtime.ModelRunner;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.LongStream;

/**
 * First-order Taylor importance (Molchanov et al., CVPR 2019; the criterion EfficientViT prunes
 * with): removing a channel sets every weight it owns to zero, which changes the loss by about
 * {@code -Σ_s g_s·w_s} over those weights. A channel's score is
 * <pre>
 *   I_c = Σ_batches | Σ_members Σ_{s ∈ channel c} w_s · ∂L/∂w_s |
 * </pre>
 * the group's weights (every constant member but running statistics, which are not trained)
 * taken together inside the absolute value, as the change of the loss when the whole channel goes,
 * and the batches outside it, so that contributions of opposite sign in different batches do not
 * cancel.
 *
 * <p>Gradients come from {@link GradientBuilder}: one gradient model for all groups, run batch by
 * batch in ONNX Runtime, which also forms the products and sums them over every axis but each
 * member's channel axis, so only those sums come back. The loss is taken over one output (the
 * model's first by default):
 * <ul>
 *   <li>with labels, softmax cross-entropy against them;</li>
 *   <li>without, the KL divergence to the unpruned model's own output on the batch (its logits fed
 *       as the teacher). NOTE: at the unpruned weights the student is the teacher, so the KL's
 *       gradient {@code p_s − p_t} is exactly zero and every score would vanish. The teacher's
 *       logits are therefore divided by a temperature τ below 1 ({@link Options#teacherTemperature},
 *       0.5 by default): the loss then measures how far each prediction is from a sharper version
 *       of itself, its gradient is largest where the model is unsure, and τ → 0 is cross-entropy
 *       against the model's own argmax.</li>
 * </ul>
 */
public final class TaylorImportance implements Importance {
    /**
     * @param maxBatches batches read, 0 for all
     * @param output the output the loss is taken over, or null for the model's first
     * @param teacherTemperature τ in (0, 1): without labels, the teacher distribution is
     *     {@code softmax(z/τ)} of the model's own logits z
     */
    public record Options(int maxBatches, String output, double teacherTemperature) {
        /** @throws IllegalArgumentException for a negative batch count or τ outside (0, 1) */
        public Options {
            if (maxBatches < 0) {
                throw new IllegalArgumentException("maxBatches must be 0 (all) or more, got " + maxBatches);
            }
            if (!(teacherTemperature > 0 && teacherTemperature < 1)) {
                throw new IllegalArgumentException("the teacher temperature must be in (0, 1), got " + teacherTemperature);
            }
        }

        /** @return every batch, the first output, τ = 0.5 */
        public static Options defaults() {
            return new Options(0, null, 0.5);
        }

        /** @return these options reading at most {@code batches} batches */
        public Options withMaxBatches(int batches) {
            return new Options(batches, output, teacherTemperature);
        }
    }

    private final ImportanceData data;
    private final Options options;

    /**
     * @param data calibration batches, with or without labels
     * @param options how many batches, which output, the teacher temperature
     */
    public TaylorImportance(ImportanceData data, Options options) {
        this.data = Objects.requireNonNull(data, "data");
        this.options = Objects.requireNonNull(options, "options");
    }

    @Override
    public String name() {
        return "taylor";
    }

    /**
     * @throws NotDifferentiableException when an op between the groups' weights and the loss has
     *     no backward rule; nothing is run
     * @throws IllegalArgumentException when there is no batch, or batches disagree about labels
     */
    @Override
    public List<double[]> scores(Model model, List<ChannelGroup> groups, PassContext context) {
        List<double[]> out = new ArrayList<>();
        Set<String> weightNames = new LinkedHashSet<>();
        for (ChannelGroup g : groups) {
            out.add(new double[g.width()]);
            for (ChannelMember m : trainable(g)) {
                weightNames.add(m.value().name());
            }
        }
        if (weightNames.isEmpty()) {
            return out;
        }
        Iterator<ImportanceData.Batch> batches = data.batches();
        if (!batches.hasNext()) {
            throw new IllegalArgumentException("Taylor importance needs at least one calibration batch");
        }
        ImportanceData.Batch first = batches.next();
        boolean labelled = first.labels() != null;
        String output = options.output() != null ? options.output() : model.graph().outputs().get(0).name();
        Loss loss = labelled ? Loss.crossEntropy() : Loss.klDivergence(1);
        GradientModel gm = new GradientBuilder().build(model,
                GradientSpec.of(loss, output).withWeights(List.copyOf(weightNames)));
        Map<String, String> gradientOf = new LinkedHashMap<>();
        for (GradientModel.WeightGradient w : gm.weights()) {
            gradientOf.put(w.weight(), w.gradient());
        }
        String reference = gm.referenceInputs().get(0);
        Model scoring = gm.model().copy();
        Map<String, String> sumOf = addChannelAxisSums(scoring, groups, gradientOf);
        List<String> wanted = List.copyOf(sumOf.values());
        // NOTE: without ONNX Runtime's arena: each run of a large model's gradient model needs
        // gigabytes, which the arena would keep (ViT-B: about 1 GiB less at the peak, same time)
        try (ModelRunner grad = ModelRunner.open(scoring, context.runOptions().withMemoryArena(false));
             ModelRunner teacher = labelled ? null : context.open(model)) {
            ImportanceData.Batch batch = first;
            int read = 0;
            long total = options.maxBatches() == 0 || data.batchCount() < 0 ? data.batchCount()
                    : Math.min(data.batchCount(), options.maxBatches());
            while (batch != null && (options.maxBatches() == 0 || read < options.maxBatches())) {
                if ((batch.labels() != null) != labelled) {
                    throw new IllegalArgumentException("calibration batch " + read + (labelled ? " has no labels" : " has labels")
                            + " where the first " + (labelled ? "had" : "had none"));
                }
                Map<String, Tensor> feeds = new LinkedHashMap<>(batch.feeds());
                feeds.putAll(gm.initialWeights());
                feeds.put(reference, labelled ? batch.labels() : sharpened(teacher.run(batch.feeds(), List.of(output))
                        .get(output)));
                Map<String, Tensor> sums = grad.run(feeds, wanted);
                for (int k = 0; k < groups.size(); k++) {
                    accumulate(groups.get(k), sums, sumOf, out.get(k));
                }
                read++;
                context.progress().update("taylor", read, total);
                batch = batches.hasNext() ? batches.next() : null;
            }
        }
        return out;
    }

    /** The members Taylor sums over: float initializers that are not running statistics. */
    private static List<ChannelMember> trainable(ChannelGroup g) {
        List<ChannelMember> out = new ArrayList<>();
        for (ChannelMember m : g.constants()) {
            Value v = m.value();
            if (!m.statistic() && v.isInitializer() && m.constant().dataType().isFloatingPoint()) {
                out.add(m);
            }
        }
        return out;
    }

    private Tensor sharpened(Tensor logits) {
        float[] z = logits.toFloatArray();
        float scale = (float) (1 / options.teacherTemperature());
        for (int i = 0; i < z.length; i++) {
            z[i] *= scale;
        }
        return Tensor.ofFloats("teacher", logits.dims(), z);
    }

    /**
     * Adds to the gradient model, for every trainable member, an output holding the sum of
     * {@code w·∂L/∂w} over every axis but the member's channel axis, computed in double. NOTE: ONNX
     * Runtime then hands back one number per position instead of whole gradients; for a ViT-B that
     * was 330 MiB per batch copied into the JVM, which kept it until a full collection.
     *
     * @return per member ({@link #key}), the name of its output
     */
    private static Map<String, String> addChannelAxisSums(Model scoring, List<ChannelGroup> groups,
                                                          Map<String, String> gradientOf) {
        GraphEmitter e = new GraphEmitter(scoring.graph(), scoring.opsetVersion(""));
        Map<String, Value> byName = scoring.graph().valuesByName();
        Map<String, String> out = new LinkedHashMap<>();
        for (ChannelGroup g : groups) {
            for (ChannelMember m : trainable(g)) {
                String gradient = gradientOf.get(m.value().name());
                if (gradient == null || out.containsKey(key(m))) {
                    continue; // the weight does not reach the loss's output: no first-order effect
                }
                long[] dims = m.constant().dims();
                long[] others = LongStream.range(0, dims.length).filter(a -> a != m.axis()).toArray();
                Value product = e.op("Mul", inDouble(e, byName.get(m.value().name())), inDouble(e, byName.get(gradient)));
                Value sum = others.length == 0 ? product : e.reduceSum(product, others, false);
                sum.setType(ValueType.TensorType.of(DataType.DOUBLE, Shape.of(dims[m.axis()])));
                scoring.graph().addOutput(sum);
                out.put(key(m), sum.name());
            }
        }
        return out;
    }

    private static Value inDouble(GraphEmitter e, Value v) {
        return e.op("Cast", List.of(v), Attribute.ofInt("to", DataType.DOUBLE.code()));
    }

    /** A member's weight and channel axis: what its summed output is for. */
    private static String key(ChannelMember m) {
        return m.value().name() + "@" + m.axis();
    }

    private static void accumulate(ChannelGroup g, Map<String, Tensor> sums, Map<String, String> sumOf, double[] scores) {
        double[] perBatch = new double[g.width()];
        for (ChannelMember m : trainable(g)) {
            String output = sumOf.get(key(m));
            if (output == null) {
                continue;
            }
            double[] channels = ChannelSums.sumOfPositions(m, sums.get(output).toDoubleArray(), g.width());
            for (int c = 0; c < perBatch.length; c++) {
                perBatch[c] += channels[c];
            }
        }
        for (int c = 0; c < scores.length; c++) {
            scores[c] += Math.abs(perBatch[c]);
        }
    }
}
