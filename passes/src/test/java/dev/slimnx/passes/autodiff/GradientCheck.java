package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Checks a gradient model against central finite differences: a small model is built with
 * {@link GraphBuilder} from seeded random weights and inputs, its gradient model (mean squared error
 * against random targets, summed over the outputs) is run through ONNX Runtime, and every entry of
 * every weight's gradient is compared with {@code (L(w + h) - L(w - h)) / 2h}, where {@code L} is
 * computed here, in double, from the forward model's outputs run through ONNX Runtime with the
 * weights fed as inputs. Nothing of the code under test computes the reference.
 *
 * <p>Step and tolerance. The central difference has a truncation error of about
 * {@code h²·|L'''|/6} and a rounding error of about {@code k·ε·|L|/h}, where {@code ε} is the
 * machine epsilon of the model's element type and {@code k} counts the roundings that reach the
 * loss. Their sum is smallest near {@code h = ∛ε} (times {@code max(1, |w|)} so the step stays
 * relative to the weight), where both terms are of order {@code ε^(2/3)}: about {@code 4e-11} for
 * double and {@code 2.4e-5} for float. Hence:
 * <ul>
 *   <li>double: {@code h = ∛ε·max(1,|w|) ≈ 6e-6}; entries must agree within {@code rtol = 1e-6}
 *       plus {@code atol = 1e-7·s + 64·ε·|L|/h}, where {@code s} is the largest gradient entry:
 *       four orders above the expected error, so a wrong rule (off by a term, a transpose, a
 *       factor) still fails.</li>
 *   <li>float: {@code h = ∛ε·max(1,|w|) ≈ 5e-3}; {@code rtol = 1e-2} plus
 *       {@code atol = 1e-3·s + 64·ε·|L|/h} (the second term ≈ {@code 1.6e-3·|L|}, the rounding
 *       bound with {@code k = 64}).</li>
 * </ul>
 * The step is the difference of the two perturbed weights as stored in the element type, not the
 * nominal {@code 2h}, so rounding of {@code w ± h} itself does not bias the quotient.
 */
final class GradientCheck {
    private final DataType type;
    private final GraphBuilder builder;
    private final SplittableRandom random;
    private final Map<String, Tensor> feeds = new LinkedHashMap<>();
    private BackwardRules rules = BackwardRules.standard();

    /**
     * @param type FLOAT or DOUBLE: every weight, input and output of the model under test
     * @param seed seeds weights, inputs and targets
     */
    GradientCheck(DataType type, long seed) {
        this.type = type;
        this.builder = new GraphBuilder(17, seed);
        this.random = new SplittableRandom(seed);
    }

    /**
     * @param replacement the rules to build the gradient model with (a test of the harness itself)
     * @return this
     */
    GradientCheck withRules(BackwardRules replacement) {
        this.rules = replacement;
        return this;
    }

    /** @return the builder, for nodes */
    GraphBuilder b() {
        return builder;
    }

    /** @return the element type under test */
    DataType type() {
        return type;
    }

    /** Adds a node with one output (shorthand for {@code b().op}). */
    Value op(String opType, Value... inputs) {
        return builder.op(opType, inputs);
    }

    /** A differentiated weight of uniform values in [-1, 1). */
    Value weight(String name, long... dims) {
        return weight(name, uniform(dims, -1, 1), dims);
    }

    /** A differentiated weight of given values. */
    Value weight(String name, double[] values, long... dims) {
        return builder.initializer(tensor(name, dims, values));
    }

    /** A graph input fed with uniform values in [-1, 1), of static dims. */
    Value input(String name, long... dims) {
        Value v = builder.input(name, type, boxed(dims));
        feeds.put(name, tensor(name, dims, uniform(dims, -1, 1)));
        return v;
    }

    /**
     * A graph input declared with {@code declared} dims (numbers or symbols) and fed with values of
     * {@code dims}.
     */
    Value dynamicInput(String name, long[] dims, Object... declared) {
        Value v = builder.input(name, type, declared);
        feeds.put(name, tensor(name, dims, uniform(dims, -1, 1)));
        return v;
    }

    /** A constant 1-D INT64 initializer (axes, shapes, indices). */
    Value longs(String name, long... values) {
        return builder.initializer(Tensor.ofLongs(name, new long[] {values.length}, values));
    }

    /** A constant INT64 initializer of any dims. */
    Value longs(String name, long[] dims, long... values) {
        return builder.initializer(Tensor.ofLongs(name, dims, values));
    }

    double[] uniform(long[] dims, double lo, double hi) {
        double[] v = new double[Math.toIntExact(Tensor.elementCount(dims))];
        for (int i = 0; i < v.length; i++) {
            v[i] = lo + (hi - lo) * random.nextDouble();
        }
        return v;
    }

    /** A tensor of the element type under test. */
    Tensor tensor(String name, long[] dims, double[] values) {
        return tensorOf(type, name, dims, values);
    }

    static Tensor tensorOf(DataType type, String name, long[] dims, double[] values) {
        if (type == DataType.DOUBLE) {
            ByteBuffer buf = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (double x : values) {
                buf.putDouble(x);
            }
            return Tensor.ofRaw(name, type, dims, buf.flip());
        }
        float[] f = new float[values.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) values[i];
        }
        return Tensor.ofFloats(name, dims, f);
    }

    private static Object[] boxed(long[] dims) {
        Object[] out = new Object[dims.length];
        for (int i = 0; i < dims.length; i++) {
            out[i] = dims[i];
        }
        return out;
    }

    /** What a check saw. */
    record Result(Model forward, GradientModel gradients, int entriesChecked, double worstRatio) {
    }

    /**
     * Makes {@code outputs} the model's outputs, builds the gradient model over every weight and
     * checks every gradient entry against central differences.
     *
     * @return what was checked
     */
    Result check(Value... outputs) {
        for (Value o : outputs) {
            builder.output(o);
        }
        Model forward = builder.build();
        List<String> outputNames = new ArrayList<>();
        for (Value o : outputs) {
            outputNames.add(o.name());
        }
        GradientModel gm = new GradientBuilder(rules).build(forward,
                new GradientSpec(outputNames, Loss.meanSquaredError(), List.of(), List.of(), false));
        assertTrue(!gm.weights().isEmpty(), "some weight reaches the loss");

        Model probe = weightsAsInputs(forward, gm);
        try (ModelRunner fwd = ModelRunner.open(probe, RunOptions.reference());
             ModelRunner grad = ModelRunner.open(gm.model(), RunOptions.reference())) {
            Map<String, Tensor> weights = new LinkedHashMap<>(gm.initialWeights());
            Map<String, Tensor> probeFeeds = new LinkedHashMap<>(feeds);
            probeFeeds.putAll(weights);
            Map<String, Tensor> y0 = fwd.run(probeFeeds);
            List<double[]> targets = new ArrayList<>();
            Map<String, Tensor> gradFeeds = new LinkedHashMap<>(feeds);
            gradFeeds.putAll(weights);
            for (int i = 0; i < outputNames.size(); i++) {
                Tensor y = y0.get(outputNames.get(i));
                double[] t = uniform(y.dims(), -1, 1);
                targets.add(t);
                String input = gm.referenceInputs().get(i);
                gradFeeds.put(input, tensor(input, y.dims(), t));
            }
            Map<String, Tensor> got = grad.run(gradFeeds);
            double loss0 = mse(y0, outputNames, targets);
            double eps = type == DataType.DOUBLE ? Math.ulp(1.0) : Math.ulp(1.0f);
            double lossTol = (type == DataType.DOUBLE ? 1e-12 : 1e-5) * Math.max(1, Math.abs(loss0));
            assertEquals(loss0, got.get(gm.lossOutput()).toDoubleArray()[0], lossTol, "loss value");

            double scale = 0;
            for (GradientModel.WeightGradient w : gm.weights()) {
                for (double v : got.get(w.gradient()).toDoubleArray()) {
                    scale = Math.max(scale, Math.abs(v));
                }
            }
            boolean dbl = type == DataType.DOUBLE;
            double rtol = dbl ? 1e-6 : 1e-2;
            double floor = (dbl ? 1e-7 : 1e-3) * scale;
            int checked = 0;
            double worst = 0;
            for (GradientModel.WeightGradient w : gm.weights()) {
                Tensor g = got.get(w.gradient());
                assertArrayEquals(w.initial().dims(), g.dims(), "gradient of " + w.weight() + " has the weight's dims");
                double[] analytic = g.toDoubleArray();
                double[] base = w.initial().toDoubleArray();
                for (int j = 0; j < base.length; j++) {
                    double h = Math.cbrt(eps) * Math.max(1, Math.abs(base[j]));
                    double[] plus = base.clone();
                    double[] minus = base.clone();
                    plus[j] = stored(base[j] + h);
                    minus[j] = stored(base[j] - h);
                    double lp = lossWith(fwd, probeFeeds, w, plus, outputNames, targets);
                    double lm = lossWith(fwd, probeFeeds, w, minus, outputNames, targets);
                    double fd = (lp - lm) / (plus[j] - minus[j]);
                    double tol = rtol * Math.abs(analytic[j]) + floor + 64 * eps * Math.abs(loss0) / h;
                    double err = Math.abs(fd - analytic[j]);
                    worst = Math.max(worst, err / tol);
                    if (err > tol) {
                        throw new AssertionError("d loss / d " + w.weight() + "[" + j + "]: finite difference " + fd
                                + ", gradient model " + analytic[j] + " (|diff| " + err + " > tol " + tol + ")");
                    }
                    checked++;
                }
            }
            return new Result(forward, gm, checked, worst);
        }
    }

    private double stored(double x) {
        return type == DataType.DOUBLE ? x : (float) x;
    }

    private double lossWith(ModelRunner fwd, Map<String, Tensor> feeds, GradientModel.WeightGradient w, double[] values,
                            List<String> outputs, List<double[]> targets) {
        Map<String, Tensor> f = new LinkedHashMap<>(feeds);
        f.put(w.input(), tensor(w.input(), w.initial().dims(), values));
        return mse(fwd.run(f), outputs, targets);
    }

    /** Sum over outputs of the mean squared error, in double. */
    static double mse(Map<String, Tensor> ys, List<String> outputs, List<double[]> targets) {
        double total = 0;
        for (int i = 0; i < outputs.size(); i++) {
            double[] y = ys.get(outputs.get(i)).toDoubleArray();
            double[] t = targets.get(i);
            double s = 0;
            for (int k = 0; k < y.length; k++) {
                double d = y[k] - t[k];
                s += d * d;
            }
            total += s / y.length;
        }
        return total;
    }

    /** A copy of the forward model whose differentiated weights are graph inputs, for the probes. */
    static Model weightsAsInputs(Model forward, GradientModel gm) {
        Model copy = forward.copy();
        Graph g = copy.graph();
        for (GradientModel.WeightGradient w : gm.weights()) {
            Value v = g.initializer(w.weight());
            Tensor t = v.initializer();
            g.removeInitializer(v);
            v.setName(w.input());
            v.setType(ValueType.TensorType.of(t.dataType(), t.shape()));
            g.addInput(v);
        }
        return copy;
    }
}
