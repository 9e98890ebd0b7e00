package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.PassContext;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Magnitude importance: a channel's score is the norm of all the weights it owns across the group,
 * every constant member (weights, biases, normalization scales and shifts) but running statistics:
 * L1 {@code Σ|w|} or L2 {@code sqrt(Σw²)}. Data-free; the baseline a data-driven criterion must
 * match.
 */
public final class MagnitudeImportance implements Importance {
    /** Which norm. */
    public enum Norm { L1, L2 }

    private final Norm norm;

    /** @param norm L1 or L2 */
    public MagnitudeImportance(Norm norm) {
        this.norm = Objects.requireNonNull(norm, "norm");
    }

    @Override
    public String name() {
        return "magnitude-" + norm.name().toLowerCase(java.util.Locale.ROOT);
    }

    @Override
    public List<double[]> scores(Model model, List<ChannelGroup> groups, PassContext context) {
        List<double[]> out = new ArrayList<>();
        for (ChannelGroup g : groups) {
            double[] acc = new double[g.width()];
            for (ChannelMember m : g.constants()) {
                Tensor t = m.constant();
                if (m.statistic() || !t.dataType().isFloatingPoint()) {
                    continue;
                }
                double[] v = t.toDoubleArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] = norm == Norm.L1 ? Math.abs(v[i]) : v[i] * v[i];
                }
                double[] sums = ChannelSums.sum(m, t.dims(), v, g.width());
                for (int c = 0; c < acc.length; c++) {
                    acc[c] += sums[c];
                }
            }
            if (norm == Norm.L2) {
                for (int c = 0; c < acc.length; c++) {
                    acc[c] = Math.sqrt(acc[c]);
                }
            }
            out.add(acc);
        }
        return out;
    }
}
