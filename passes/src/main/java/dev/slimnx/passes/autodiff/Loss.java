package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.ValueType;
import java.util.List;

/**
 * A scalar loss over one model output. Each loss emits its forward nodes (the loss value) and
 * seeds the gradient of the output directly from its closed form, instead of differentiating its
 * own nodes: the closed forms are shorter and numerically better (no division by a softmax).
 *
 * <p>Losses average over positions: every element of a regression output, every row of class
 * scores. The class axis is the last one, so logits of shape {@code [N, C]} (or {@code [N, T, C]})
 * have {@code N} (or {@code N·T}) positions. Each loss adds one graph input for its reference
 * (labels, teacher logits, targets), named from a hint that a suffix keeps unique; a
 * {@link WeightedSum} adds those of its terms.
 */
public sealed interface Loss
        permits Loss.SoftmaxCrossEntropy, Loss.KlDivergence, Loss.MeanSquaredError, Loss.WeightedSum {

    /** @return cross-entropy against int64 labels, without label smoothing, input named {@code labels} */
    static SoftmaxCrossEntropy crossEntropy() {
        return new SoftmaxCrossEntropy(0, "labels");
    }

    /**
     * @param temperature the softening temperature T (Hinton et al. use 1 to 20)
     * @return KL divergence against teacher logits, input named {@code teacher_logits}
     */
    static KlDivergence klDivergence(double temperature) {
        return new KlDivergence(temperature, "teacher_logits");
    }

    /** @return mean squared error against a target, input named {@code target} */
    static MeanSquaredError meanSquaredError() {
        return new MeanSquaredError("target");
    }

    /**
     * Knowledge distillation with labels (Hinton et al., 2015): {@code α·CE(labels) + (1 - α)·KL(T)}.
     * Its reference inputs are the labels, then the teacher logits.
     *
     * @param alpha weight of the cross-entropy term, in (0, 1)
     * @param temperature the softening temperature T of the KL term
     * @return the weighted sum
     * @throws IllegalArgumentException when α is not strictly between 0 and 1 (use one loss alone
     *     at the ends) or T is not positive
     */
    static WeightedSum distillation(double alpha, double temperature) {
        if (!(alpha > 0 && alpha < 1)) {
            throw new IllegalArgumentException("alpha must be strictly between 0 and 1, got " + alpha
                    + " (at 0 or 1 one loss alone is the whole sum)");
        }
        return new WeightedSum(List.of(new WeightedSum.Term(alpha, crossEntropy()),
                new WeightedSum.Term(1 - alpha, klDivergence(temperature))));
    }

    /**
     * @param output the model output the loss is taken over
     * @param info types and shapes of the forward graph
     * @return null when this loss applies to the output, else why not
     */
    String unsupportedReason(Value output, ForwardInfo info);

    /**
     * Adds the reference input and the loss nodes, and seeds the output's gradient.
     *
     * @param e the emitter
     * @param output the model output
     * @param info types and shapes of the forward graph
     * @return the loss value, the output's gradient and the added input
     */
    Terms emit(GraphEmitter e, Value output, ForwardInfo info);

    /**
     * @param loss a scalar of the output's element type
     * @param outputGradient {@code dLoss/dOutput}, of the output's shape
     * @param referenceInputs the graph inputs the loss added (labels, teacher logits, target): one,
     *     or one per term of a {@link WeightedSum}
     */
    record Terms(Value loss, Value outputGradient, List<Value> referenceInputs) {
        /**
         * @throws IllegalArgumentException when no reference input is given
         */
        public Terms {
            referenceInputs = List.copyOf(referenceInputs);
            if (referenceInputs.isEmpty()) {
                throw new IllegalArgumentException("a loss adds at least one reference input");
            }
        }

        /**
         * @param loss a scalar of the output's element type
         * @param outputGradient {@code dLoss/dOutput}, of the output's shape
         * @param referenceInput the one graph input the loss added
         */
        public Terms(Value loss, Value outputGradient, Value referenceInput) {
            this(loss, outputGradient, List.of(referenceInput));
        }

        /** @return the first reference input (the only one, except for a {@link WeightedSum}) */
        public Value referenceInput() {
            return referenceInputs.get(0);
        }
    }

    /**
     * Softmax cross-entropy against integer labels: with {@code p = softmax(z)} over the last axis
     * and the target distribution {@code q = (1 - ε)·onehot(label) + ε/C},
     * {@code L = mean over positions of -Σ_c q_c·log p_c}, and
     * {@code dL/dz = (p - q) / M} for {@code M} positions. Labels are INT64 of the logits' shape
     * without the class axis; a label outside {@code [0, C)} matches no class (only the smoothing
     * term remains for that position).
     *
     * @param labelSmoothing ε in [0, 1)
     * @param labelsInput hint for the name of the labels input
     */
    record SoftmaxCrossEntropy(double labelSmoothing, String labelsInput) implements Loss {
        /**
         * @throws IllegalArgumentException when ε is outside [0, 1) or the name is empty
         */
        public SoftmaxCrossEntropy {
            if (!(labelSmoothing >= 0 && labelSmoothing < 1)) {
                throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + labelSmoothing);
            }
            requireName(labelsInput);
        }

        /**
         * @param epsilon ε in [0, 1)
         * @return this loss with label smoothing ε
         */
        public SoftmaxCrossEntropy withLabelSmoothing(double epsilon) {
            return new SoftmaxCrossEntropy(epsilon, labelsInput);
        }

        @Override
        public String unsupportedReason(Value output, ForwardInfo info) {
            return classScores(output, info);
        }

        @Override
        public Terms emit(GraphEmitter e, Value z, ForwardInfo info) {
            DataType type = info.elemType(z);
            Shape shape = info.shape(z);
            int rank = shape.rank();
            Value labels = addInput(e, labelsInput, DataType.INT64, Shape.of(shape.dims().subList(0, rank - 1)));
            Value logp = e.op("LogSoftmax", List.of(z), Attribute.ofInt("axis", -1));
            Value classes = e.op("Range", e.longScalar(0), e.squeeze(e.sizeAlong(z, rank - 1, shape.dim(-1)), 0),
                    e.longScalar(1));
            Value q = e.cast(e.op("Equal", e.unsqueeze(labels, -1), classes), type);
            if (labelSmoothing > 0) {
                Value uniform = e.op("Div", e.scalar(labelSmoothing, type),
                        e.cast(e.sizeAlong(z, rank - 1, shape.dim(-1)), type));
                q = e.op("Add", e.op("Mul", q, e.scalar(1 - labelSmoothing, type)), uniform);
            }
            Value perPosition = e.op("Neg", e.reduceSum(e.op("Mul", q, logp), new long[] {rank - 1}, false));
            Value loss = e.reduceMeanAll(perPosition, false);
            Value positions = e.cast(e.op("Size", labels), type);
            Value grad = e.op("Div", e.op("Sub", e.op("Exp", logp), q), positions);
            return new Terms(loss, grad, labels);
        }
    }

    /**
     * Knowledge distillation (Hinton et al., 2015): KL divergence from the teacher's softened
     * distribution to the student's at temperature T, scaled by T² so that the gradients keep
     * their size as T changes. With {@code p_t = softmax(t/T)}, {@code p_s = softmax(z/T)}:
     * {@code L = T²·mean over positions of Σ_c p_t,c·(log p_t,c - log p_s,c)}, and
     * {@code dL/dz = T·(p_s - p_t) / M} for {@code M} positions. The teacher logits are a graph
     * input of the output's type and shape.
     *
     * @param temperature T, positive
     * @param teacherInput hint for the name of the teacher-logits input
     */
    record KlDivergence(double temperature, String teacherInput) implements Loss {
        /**
         * @throws IllegalArgumentException when T is not positive or the name is empty
         */
        public KlDivergence {
            if (!(temperature > 0) || Double.isInfinite(temperature)) {
                throw new IllegalArgumentException("temperature must be positive, got " + temperature);
            }
            requireName(teacherInput);
        }

        @Override
        public String unsupportedReason(Value output, ForwardInfo info) {
            return classScores(output, info);
        }

        @Override
        public Terms emit(GraphEmitter e, Value z, ForwardInfo info) {
            DataType type = info.elemType(z);
            Shape shape = info.shape(z);
            int rank = shape.rank();
            Value teacher = addInput(e, teacherInput, type, shape);
            Value zs = z;
            Value ts = teacher;
            if (temperature != 1) {
                zs = e.op("Div", z, e.scalar(temperature, type));
                ts = e.op("Div", teacher, e.scalar(temperature, type));
            }
            Value logPs = e.op("LogSoftmax", List.of(zs), Attribute.ofInt("axis", -1));
            Value logPt = e.op("LogSoftmax", List.of(ts), Attribute.ofInt("axis", -1));
            Value pt = e.op("Exp", logPt);
            Value perPosition = e.reduceSum(e.op("Mul", pt, e.op("Sub", logPt, logPs)), new long[] {rank - 1}, false);
            Value loss = e.op("Mul", e.reduceMeanAll(perPosition, false), e.scalar(temperature * temperature, type));
            Value positions = e.cast(e.op("Size", perPosition), type);
            Value diff = e.op("Sub", e.op("Exp", logPs), pt);
            Value grad = e.op("Div", e.op("Mul", diff, e.scalar(temperature, type)), positions);
            return new Terms(loss, grad, teacher);
        }
    }

    /**
     * Mean squared error: {@code L = mean((z - t)²)} over every element, and
     * {@code dL/dz = 2·(z - t) / n} for {@code n} elements. The target is a graph input of the
     * output's type and shape.
     *
     * @param targetInput hint for the name of the target input
     */
    record MeanSquaredError(String targetInput) implements Loss {
        /**
         * @throws IllegalArgumentException when the name is empty
         */
        public MeanSquaredError {
            requireName(targetInput);
        }

        @Override
        public String unsupportedReason(Value output, ForwardInfo info) {
            if (info.shape(output) == null || !isFloat(info.elemType(output))) {
                return "output '" + output.name() + "' must be a FLOAT or DOUBLE tensor of known rank";
            }
            return null;
        }

        @Override
        public Terms emit(GraphEmitter e, Value z, ForwardInfo info) {
            DataType type = info.elemType(z);
            Value target = addInput(e, targetInput, type, info.shape(z));
            Value diff = e.op("Sub", z, target);
            Value loss = e.reduceMeanAll(e.op("Mul", diff, diff), false);
            Value count = e.cast(e.op("Size", z), type);
            Value grad = e.op("Div", e.op("Mul", diff, e.scalar(2, type)), count);
            return new Terms(loss, grad, target);
        }
    }

    /**
     * A weighted sum of losses over the same output: {@code L = Σ w_i·L_i} and, the derivative being
     * linear, {@code dL/dz = Σ w_i·dL_i/dz}. Each term adds its own reference input, in term order
     * (so {@link Loss#distillation} takes the labels, then the teacher logits).
     *
     * @param terms the weighted losses, at least one
     */
    record WeightedSum(List<Term> terms) implements Loss {
        /**
         * One weighted loss.
         *
         * @param weight a finite positive weight
         * @param loss the loss
         */
        public record Term(double weight, Loss loss) {
            /**
             * @throws IllegalArgumentException when the weight is not finite and positive
             */
            public Term {
                if (!(weight > 0) || Double.isInfinite(weight)) {
                    throw new IllegalArgumentException("a loss weight must be finite and positive, got " + weight);
                }
                java.util.Objects.requireNonNull(loss, "loss");
            }
        }

        /**
         * @throws IllegalArgumentException when there is no term
         */
        public WeightedSum {
            terms = List.copyOf(terms);
            if (terms.isEmpty()) {
                throw new IllegalArgumentException("a weighted sum needs at least one loss");
            }
        }

        @Override
        public String unsupportedReason(Value output, ForwardInfo info) {
            for (Term t : terms) {
                String reason = t.loss().unsupportedReason(output, info);
                if (reason != null) {
                    return reason;
                }
            }
            return null;
        }

        @Override
        public Terms emit(GraphEmitter e, Value z, ForwardInfo info) {
            DataType type = info.elemType(z);
            Value loss = null;
            Value grad = null;
            List<Value> inputs = new java.util.ArrayList<>();
            for (Term t : terms) {
                Terms part = t.loss().emit(e, z, info);
                inputs.addAll(part.referenceInputs());
                Value l = part.loss();
                Value g = part.outputGradient();
                if (t.weight() != 1) {
                    l = e.op("Mul", l, e.scalar(t.weight(), type));
                    g = e.op("Mul", g, e.scalar(t.weight(), type));
                }
                loss = loss == null ? l : e.op("Add", loss, l);
                grad = grad == null ? g : e.op("Add", grad, g);
            }
            return new Terms(loss, grad, inputs);
        }
    }

    private static boolean isFloat(DataType t) {
        return t == DataType.FLOAT || t == DataType.DOUBLE;
    }

    private static String classScores(Value output, ForwardInfo info) {
        Shape s = info.shape(output);
        if (s == null || s.rank() < 2 || !isFloat(info.elemType(output))) {
            return "output '" + output.name() + "' must be FLOAT or DOUBLE class scores of rank 2 or more"
                    + " (classes on the last axis)";
        }
        return null;
    }

    private static void requireName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("the reference input needs a name");
        }
    }

    private static Value addInput(GraphEmitter e, String hint, DataType type, Shape shape) {
        Value v = new Value(e.graph().names().fresh(hint), ValueType.TensorType.of(type, shape));
        e.graph().addInput(v);
        return v;
    }
}
