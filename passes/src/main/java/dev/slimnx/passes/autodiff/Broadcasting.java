package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import java.util.ArrayList;
import java.util.List;

/**
 * Reduces a gradient back to the shape of an input that was broadcast (numpy rules, as every ONNX
 * binary op uses): if {@code y = f(a, b)} broadcasts {@code a} along some axes, then
 * {@code dL/da} is {@code dL/dy} summed over those axes — the leading axes {@code a} lacks, and the
 * aligned axes where {@code a} has size 1 and {@code y} does not.
 *
 * <p>Which axes those are is decided at build time when the shapes say so: a dim equal to the
 * output's (same size or same symbol) is kept, and so is any other known size but 1 (the output has
 * it too); a target dim of known size 1 is summed (summing a size-1 axis is harmless if the
 * output's symbolic dim turns out to be 1 too). Only when a target
 * dim is symbolic or unknown and differs from the output's is the choice left to run time, where
 * the axes are computed from the two {@code Shape}s ({@code Equal}, {@code NonZero}) and fed to a
 * {@code ReduceSum} with {@code noop_with_empty_axes}.
 */
public final class Broadcasting {
    private Broadcasting() {
    }

    /**
     * @param e the emitter
     * @param grad a gradient of shape {@code gradShape}
     * @param gradShape what is known of the gradient's shape
     * @param target the forward value the gradient is for, which broadcasts to {@code gradShape}
     * @param targetShape what is known of the target's shape
     * @return a value of the target's shape: {@code grad} itself when nothing was broadcast
     */
    public static Value reduceTo(GraphEmitter e, Value grad, Shape gradShape, Value target, Shape targetShape) {
        int gr = gradShape.rank();
        int tr = targetShape.rank();
        if (tr > gr) {
            throw new IllegalArgumentException("target rank " + tr + " exceeds gradient rank " + gr);
        }
        int lead = gr - tr;
        List<Long> axes = new ArrayList<>();
        for (int i = 0; i < lead; i++) {
            axes.add((long) i);
        }
        boolean decidedNow = true;
        for (int j = 0; j < tr; j++) {
            Dim t = targetShape.dim(j);
            Dim g = gradShape.dim(j + lead);
            if (t.equals(g) && (t.isKnown() || t.isSymbolic())) {
                continue;
            }
            if (t.isKnown()) {
                if (t.value() == 1) {
                    axes.add((long) (j + lead));
                }
                // a known size other than 1 was not broadcast: the output has that size there
            } else if (!(g.isKnown() && g.value() == 1)) {
                decidedNow = false;
            }
        }
        long[] leading = new long[lead];
        for (int i = 0; i < lead; i++) {
            leading[i] = i;
        }
        if (!decidedNow) {
            return reduceAtRunTime(e, grad, target, lead, leading);
        }
        if (axes.isEmpty()) {
            return grad;
        }
        long[] ax = axes.stream().mapToLong(Long::longValue).toArray();
        if (ax.length == lead) {
            return e.reduceSum(grad, ax, false);
        }
        Value summed = e.reduceSum(grad, ax, true);
        return lead == 0 ? summed : e.squeeze(summed, leading);
    }

    /** The axes to sum are those where the (left-padded) target shape differs from the gradient's. */
    private static Value reduceAtRunTime(GraphEmitter e, Value grad, Value target, int lead, long[] leading) {
        Value gradShape = e.op("Shape", grad);
        Value targetShape = e.op("Shape", target);
        if (lead > 0) {
            long[] ones = new long[lead];
            java.util.Arrays.fill(ones, 1);
            targetShape = e.op("Concat", List.of(e.longs(ones), targetShape), Attribute.ofInt("axis", 0));
        }
        Value differs = e.op("Not", e.op("Equal", targetShape, gradShape));
        Value axes = e.reshape(e.op("NonZero", differs), e.longs(-1));
        Value summed = e.reduceSumKeepDims(grad, axes);
        return lead == 0 ? summed : e.squeeze(summed, leading);
    }
}
