package dev.slimnx.passes.autodiff;

import java.util.List;
import java.util.Objects;

/**
 * What to differentiate: the loss, the outputs it is taken over, and the values to differentiate
 * with respect to.
 *
 * @param outputs names of the values the loss is taken over (usually graph outputs); with several,
 *     the loss is applied to each and the terms are summed
 * @param loss the loss
 * @param weights initializers to differentiate with respect to, in the order their gradients are
 *     output; empty means every FLOAT or DOUBLE initializer that reaches the loss through
 *     differentiable ops, in initializer order (an input a rule treats as a constant, such as
 *     BatchNormalization's running mean and variance, does not count; named here, such a weight
 *     gets a gradient of zeros)
 * @param values intermediate values (node outputs) whose gradients are also output
 * @param keepForwardOutputs whether the model's own outputs stay outputs of the gradient model
 */
public record GradientSpec(List<String> outputs, Loss loss, List<String> weights, List<String> values,
                           boolean keepForwardOutputs) {

    /**
     * @throws IllegalArgumentException when no output is named, or a name repeats
     */
    public GradientSpec {
        Objects.requireNonNull(loss, "loss");
        outputs = List.copyOf(outputs);
        weights = List.copyOf(weights);
        values = List.copyOf(values);
        if (outputs.isEmpty()) {
            throw new IllegalArgumentException("name at least one output the loss is taken over");
        }
        for (List<String> names : List.of(outputs, weights, values)) {
            if (names.stream().distinct().count() != names.size()) {
                throw new IllegalArgumentException("a name is listed twice in " + names);
            }
        }
    }

    /**
     * @param loss the loss
     * @param outputs the outputs it is taken over
     * @return a spec over every float initializer, without intermediate values or forward outputs
     */
    public static GradientSpec of(Loss loss, String... outputs) {
        return new GradientSpec(List.of(outputs), loss, List.of(), List.of(), false);
    }

    /**
     * @param names initializers to differentiate with respect to
     * @return this spec with those weights
     */
    public GradientSpec withWeights(List<String> names) {
        return new GradientSpec(outputs, loss, names, values, keepForwardOutputs);
    }

    /**
     * @param names intermediate values whose gradients are also wanted
     * @return this spec with those values
     */
    public GradientSpec withValues(List<String> names) {
        return new GradientSpec(outputs, loss, weights, names, keepForwardOutputs);
    }

    /**
     * @param keep whether the forward outputs stay outputs
     * @return this spec with that choice
     */
    public GradientSpec withForwardOutputs(boolean keep) {
        return new GradientSpec(outputs, loss, weights, values, keep);
    }
}
