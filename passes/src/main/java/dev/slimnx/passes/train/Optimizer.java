package dev.slimnx.passes.train;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * How a weight moves given its gradient and the learning rate of the step. Optimizers are immutable
 * settings; what they remember between steps (momentum, moment estimates) lives in a {@link State}
 * per weight, made by {@link #newState(int)}.
 *
 * <p>Weights and states are float, as in PyTorch's default training; each element's update is
 * computed in double and rounded once.
 */
public sealed interface Optimizer permits Optimizer.Sgd, Optimizer.AdamW {

    /**
     * @return SGD with momentum 0.9, no Nesterov, no weight decay
     */
    static Sgd sgd() {
        return new Sgd(0.9, false, 0);
    }

    /**
     * @return AdamW with β1 0.9, β2 0.999, ε 1e-8 and weight decay 0.05 (the DeiT/timm recipe's)
     */
    static AdamW adamW() {
        return new AdamW(0.9, 0.999, 1e-8, 0.05);
    }

    /** @return the weight decay coefficient */
    double weightDecay();

    /**
     * @param elements the weight's element count
     * @return a fresh state for a weight of that size
     */
    State newState(int elements);

    /**
     * Updates a weight in place.
     *
     * @param weight the weight's values, updated in place
     * @param gradient {@code dLoss/dWeight}, of the same length (not changed)
     * @param state this weight's state, updated in place
     * @param learningRate the learning rate of this step
     * @param decay whether weight decay applies to this weight (the trainer exempts biases and
     *     normalization parameters)
     * @throws IllegalArgumentException when the lengths differ or the state is another optimizer's
     */
    void update(float[] weight, float[] gradient, State state, double learningRate, boolean decay);

    /** @return name and settings, for checkpoints and summaries (e.g. {@code name=adamw, beta1=0.9}) */
    Map<String, Object> describe();

    /**
     * What an optimizer remembers about one weight between steps.
     */
    final class State {
        private final Optimizer owner;
        private final float[] first;
        private final float[] second;
        private long steps;

        private State(Optimizer owner, float[] first, float[] second) {
            this.owner = owner;
            this.first = first;
            this.second = second;
        }

        /** @return updates applied so far */
        public long steps() {
            return steps;
        }
    }

    /**
     * Stochastic gradient descent with momentum, as PyTorch's {@code torch.optim.SGD} (dampening 0):
     * with {@code g = ∇ + λ·w} (L2 weight decay, added to the gradient),
     * {@code v ← μ·v + g}, and {@code w ← w - η·(g + μ·v)} with Nesterov or {@code w ← w - η·v}
     * without. The first step has {@code v = g}.
     *
     * @param momentum μ in [0, 1)
     * @param nesterov whether to use Nesterov momentum (needs μ &gt; 0)
     * @param weightDecay λ ≥ 0
     */
    record Sgd(double momentum, boolean nesterov, double weightDecay) implements Optimizer {
        /**
         * @throws IllegalArgumentException when a setting is out of range
         */
        public Sgd {
            if (!(momentum >= 0 && momentum < 1)) {
                throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
            }
            if (nesterov && momentum == 0) {
                throw new IllegalArgumentException("Nesterov momentum needs a momentum above 0");
            }
            checkDecay(weightDecay);
        }

        /**
         * @param decay λ ≥ 0
         * @return this optimizer with that weight decay
         */
        public Sgd withWeightDecay(double decay) {
            return new Sgd(momentum, nesterov, decay);
        }

        @Override
        public State newState(int elements) {
            return new State(this, momentum > 0 ? new float[elements] : null, null);
        }

        @Override
        public void update(float[] weight, float[] gradient, State state, double learningRate, boolean decay) {
            check(this, weight, gradient, state);
            double wd = decay ? weightDecay : 0;
            float[] v = state.first;
            for (int i = 0; i < weight.length; i++) {
                double g = gradient[i] + wd * weight[i];
                double d = g;
                if (v != null) {
                    double vi = momentum * v[i] + g;
                    v[i] = (float) vi;
                    d = nesterov ? g + momentum * vi : vi;
                }
                weight[i] = (float) (weight[i] - learningRate * d);
            }
            state.steps++;
        }

        @Override
        public Map<String, Object> describe() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", "sgd");
            m.put("momentum", momentum);
            m.put("nesterov", nesterov);
            m.put("weight_decay", weightDecay);
            return m;
        }
    }

    /**
     * AdamW (Loshchilov and Hutter, 2019), as PyTorch's {@code torch.optim.AdamW}: decoupled weight
     * decay {@code w ← w·(1 - η·λ)}, then {@code m ← β1·m + (1-β1)·g},
     * {@code v ← β2·v + (1-β2)·g²}, and with bias correction at step {@code t} (from 1)
     * {@code w ← w - η·m̂ / (√v̂ + ε)}, where {@code m̂ = m / (1-β1^t)} and {@code v̂ = v / (1-β2^t)}.
     *
     * @param beta1 β1 in [0, 1)
     * @param beta2 β2 in [0, 1)
     * @param epsilon ε &gt; 0
     * @param weightDecay λ ≥ 0
     */
    record AdamW(double beta1, double beta2, double epsilon, double weightDecay) implements Optimizer {
        /**
         * @throws IllegalArgumentException when a setting is out of range
         */
        public AdamW {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("beta1 and beta2 must be in [0, 1), got " + beta1 + ", " + beta2);
            }
            if (!(epsilon > 0)) {
                throw new IllegalArgumentException("epsilon must be positive, got " + epsilon);
            }
            checkDecay(weightDecay);
        }

        /**
         * @param decay λ ≥ 0
         * @return this optimizer with that weight decay
         */
        public AdamW withWeightDecay(double decay) {
            return new AdamW(beta1, beta2, epsilon, decay);
        }

        @Override
        public State newState(int elements) {
            return new State(this, new float[elements], new float[elements]);
        }

        @Override
        public void update(float[] weight, float[] gradient, State state, double learningRate, boolean decay) {
            check(this, weight, gradient, state);
            long t = state.steps + 1;
            double correction1 = 1 - Math.pow(beta1, t);
            double correction2 = 1 - Math.pow(beta2, t);
            double shrink = decay ? 1 - learningRate * weightDecay : 1;
            float[] m = state.first;
            float[] v = state.second;
            for (int i = 0; i < weight.length; i++) {
                double g = gradient[i];
                double mi = beta1 * m[i] + (1 - beta1) * g;
                double vi = beta2 * v[i] + (1 - beta2) * g * g;
                m[i] = (float) mi;
                v[i] = (float) vi;
                double step = learningRate * (mi / correction1) / (Math.sqrt(vi / correction2) + epsilon);
                weight[i] = (float) (weight[i] * shrink - step);
            }
            state.steps = t;
        }

        @Override
        public Map<String, Object> describe() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", "adamw");
            m.put("beta1", beta1);
            m.put("beta2", beta2);
            m.put("epsilon", epsilon);
            m.put("weight_decay", weightDecay);
            return m;
        }
    }

    private static void checkDecay(double weightDecay) {
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + weightDecay);
        }
    }

    private static void check(Optimizer self, float[] weight, float[] gradient, State state) {
        Objects.requireNonNull(state, "state");
        if (!self.equals(state.owner)) {
            throw new IllegalArgumentException("the state was made by " + state.owner + ", not " + self);
        }
        if (weight.length != gradient.length) {
            throw new IllegalArgumentException("weight has " + weight.length + " elements, gradient " + gradient.length);
        }
        if (state.first != null && state.first.length != weight.length) {
            throw new IllegalArgumentException("the state is for " + state.first.length + " elements, the weight has "
                    + weight.length);
        }
    }
}
