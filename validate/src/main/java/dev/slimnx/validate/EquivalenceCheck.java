package dev.slimnx.validate;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.validate.data.Batch;
import dev.slimnx.validate.data.Dataset;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Whether a rewritten model computes what the original did: both run on the same batches and every
 * output element must satisfy {@code |candidate − baseline| ≤ atol + rtol·|baseline|}, the NumPy
 * {@code allclose} rule. This is the check behind {@code slimnx optimize --verify}: a lossless
 * pipeline that fails it has a bug, and its output is not written.
 */
public final class EquivalenceCheck {
    private EquivalenceCheck() {
    }

    /**
     * How one output compared.
     *
     * @param name the output
     * @param elements elements compared over all batches
     * @param outside elements outside the tolerance (NaN against a number counts)
     * @param maxAbs the largest absolute difference
     * @param worstExcess the largest {@code |c − b| / (atol + rtol·|b|)}; at most 1 when within tolerance
     * @param problem a structural difference (missing output, other dims or type), or null
     */
    public record OutputComparison(String name, long elements, long outside, double maxAbs, double worstExcess,
                                   String problem) {
        /** @return true when every element is within tolerance and the structure matches */
        public boolean passed() {
            return problem == null && outside == 0;
        }

        /** @return one line, e.g. {@code logits: max |diff| 3.1e-07 over 640 values} */
        public String describe() {
            if (problem != null) {
                return name + ": " + problem;
            }
            return String.format("%s: max |diff| %.3g over %d values%s", name, maxAbs, elements,
                    outside == 0 ? "" : String.format(", %d outside the tolerance (worst %.1f× it)", outside, worstExcess));
        }
    }

    /**
     * @param outputs one comparison per baseline output
     * @param batches batches compared
     * @param items items compared
     */
    public record Result(List<OutputComparison> outputs, int batches, long items) {
        /** @return true when every output passed */
        public boolean passed() {
            return outputs.stream().allMatch(OutputComparison::passed);
        }
    }

    /**
     * @param baseline the original model's session
     * @param candidate the rewritten model's session (same inputs and outputs)
     * @param data the inputs; read to the end
     * @param batchSize items per run
     * @param rtol relative tolerance
     * @param atol absolute tolerance
     * @return the comparison of every output of the baseline
     * @throws IOException if the data cannot be read
     */
    public static Result compare(ModelRunner baseline, ModelRunner candidate, Dataset data, int batchSize,
                                 double rtol, double atol) throws IOException {
        Map<String, Accumulator> acc = new LinkedHashMap<>();
        int batches = 0;
        long items = 0;
        for (Batch batch = data.next(batchSize); batch != null; batch = data.next(batchSize)) {
            Map<String, Tensor> a = baseline.run(batch.inputs());
            Map<String, Tensor> b = candidate.run(batch.inputs());
            for (Map.Entry<String, Tensor> e : a.entrySet()) {
                acc.computeIfAbsent(e.getKey(), Accumulator::new).add(e.getValue(), b.get(e.getKey()), rtol, atol);
            }
            batches++;
            items += batch.size();
        }
        List<OutputComparison> out = new ArrayList<>();
        acc.values().forEach(x -> out.add(x.result()));
        return new Result(out, batches, items);
    }

    private static final class Accumulator {
        private final String name;
        private long elements;
        private long outside;
        private double maxAbs;
        private double worst;
        private String problem;

        Accumulator(String name) {
            this.name = name;
        }

        void add(Tensor expected, Tensor actual, double rtol, double atol) {
            if (problem != null) {
                return;
            }
            if (actual == null) {
                problem = "missing from the rewritten model";
            } else if (expected.dataType() != actual.dataType()) {
                problem = "type " + actual.dataType().shortName() + ", was " + expected.dataType().shortName();
            } else if (!Arrays.equals(expected.dims(), actual.dims())) {
                problem = "dims " + Arrays.toString(actual.dims()) + ", were " + Arrays.toString(expected.dims());
            } else if (expected.dataType() == DataType.STRING) {
                problem = sameStrings(expected.strings(), actual.strings()) ? null : "string values differ";
            } else {
                double[] e = expected.toDoubleArray();
                double[] c = actual.toDoubleArray();
                for (int i = 0; i < e.length; i++) {
                    compare(e[i], c[i], rtol, atol);
                }
                elements += e.length;
            }
        }

        private void compare(double b, double c, double rtol, double atol) {
            if (Double.isNaN(b) || Double.isNaN(c)) {
                if (Double.isNaN(b) != Double.isNaN(c)) {
                    outside++;
                    worst = Double.POSITIVE_INFINITY;
                }
                return;
            }
            if (b == c) {
                return;
            }
            double d = Math.abs(c - b);
            maxAbs = Math.max(maxAbs, d);
            double excess = d / (atol + rtol * Math.abs(b));
            worst = Math.max(worst, excess);
            if (excess > 1) {
                outside++;
            }
        }

        private static boolean sameStrings(List<byte[]> a, List<byte[]> b) {
            if (a.size() != b.size()) {
                return false;
            }
            for (int i = 0; i < a.size(); i++) {
                if (!Arrays.equals(a.get(i), b.get(i))) {
                    return false;
                }
            }
            return true;
        }

        OutputComparison result() {
            return new OutputComparison(name, elements, outside, maxAbs, worst, problem);
        }
    }
}
