package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Tensor;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A model that computes a loss and its gradients, built by {@link GradientBuilder}. Its inputs are
 * the forward model's inputs, the loss's reference inputs (labels, teacher logits, targets) and the
 * differentiated weights; its outputs are the scalar loss, one gradient per weight (of the
 * weight's shape), the gradients of any chosen intermediate values and, when asked, the forward
 * outputs. Weights are inputs so a trainer feeds updated values without rebuilding the model.
 */
public final class GradientModel {
    /**
     * One differentiated weight.
     *
     * @param weight the initializer's name in the forward model
     * @param input the graph input that now carries it
     * @param gradient the graph output holding {@code dLoss/dWeight}
     * @param initial the forward model's value, to feed first
     */
    public record WeightGradient(String weight, String input, String gradient, Tensor initial) {
    }

    private final Model model;
    private final String lossOutput;
    private final List<WeightGradient> weights;
    private final Map<String, String> valueGradients;
    private final List<String> referenceInputs;
    private final List<String> forwardOutputs;

    GradientModel(Model model, String lossOutput, List<WeightGradient> weights, Map<String, String> valueGradients,
                  List<String> referenceInputs, List<String> forwardOutputs) {
        this.model = model;
        this.lossOutput = lossOutput;
        this.weights = List.copyOf(weights);
        this.valueGradients = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(valueGradients));
        this.referenceInputs = List.copyOf(referenceInputs);
        this.forwardOutputs = List.copyOf(forwardOutputs);
    }

    /** @return the gradient model (its own graph; the forward model is untouched) */
    public Model model() {
        return model;
    }

    /** @return the name of the scalar loss output */
    public String lossOutput() {
        return lossOutput;
    }

    /** @return the differentiated weights, in the order of their gradient outputs */
    public List<WeightGradient> weights() {
        return weights;
    }

    /**
     * @param name a weight's name in the forward model
     * @return its entry
     * @throws IllegalArgumentException when it was not differentiated
     */
    public WeightGradient weight(String name) {
        for (WeightGradient w : weights) {
            if (w.weight().equals(name)) {
                return w;
            }
        }
        throw new IllegalArgumentException("'" + name + "' is not a differentiated weight; they are "
                + weights.stream().map(WeightGradient::weight).toList());
    }

    /** @return intermediate value name to the name of its gradient output */
    public Map<String, String> valueGradients() {
        return valueGradients;
    }

    /**
     * @return the inputs the loss added (labels, teacher logits or targets): one per loss output,
     *     or, for a {@link Loss.WeightedSum}, one per term of each, in term order
     */
    public List<String> referenceInputs() {
        return referenceInputs;
    }

    /** @return the forward outputs kept as outputs, empty unless asked for */
    public List<String> forwardOutputs() {
        return forwardOutputs;
    }

    /** @return each weight input's initial value, by input name, ready to merge into the feeds */
    public Map<String, Tensor> initialWeights() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (WeightGradient w : weights) {
            out.put(w.input(), Objects.requireNonNull(w.initial()).withName(w.input()));
        }
        return out;
    }
}
