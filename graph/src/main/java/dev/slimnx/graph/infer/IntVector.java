package dev.slimnx.graph.infer;

import dev.slimnx.graph.tensor.Dim;
import java.util.ArrayList;
import java.util.List;

/**
 * The value of a small integer tensor (a scalar or a 1-D vector) as far as inference knows it:
 * each entry is a known number, a symbol (a dim of some input, such as {@code batch}) or unknown.
 *
 * <p>Why it exists: PyTorch exports {@code x.view(B, N, heads, -1)} as Shape → Gather →
 * Unsqueeze → Concat → Reshape. Carrying the output of Shape as a vector of dims, not as an
 * unknown int64 tensor, lets the Reshape at the end of the chain keep {@code batch} symbolic.
 *
 * @param values the entries, outermost first
 * @param scalar true for a rank-0 tensor (then {@code values} has one entry)
 */
public record IntVector(List<Dim> values, boolean scalar) {
    public IntVector {
        values = List.copyOf(values);
        if (scalar && values.size() != 1) {
            throw new IllegalArgumentException("a scalar has one value, not " + values.size());
        }
    }

    /** @return a 1-D vector of known numbers */
    public static IntVector of(long... numbers) {
        List<Dim> out = new ArrayList<>();
        for (long n : numbers) {
            out.add(Dim.of(n));
        }
        return new IntVector(out, false);
    }

    /** @return the number of entries */
    public int size() {
        return values.size();
    }

    /** @return entry {@code i} */
    public Dim get(int i) {
        return values.get(i);
    }

    /** @return true if every entry is a known number */
    public boolean isKnown() {
        return values.stream().allMatch(Dim::isKnown);
    }

    /** @return the entries as numbers; only when {@link #isKnown()} */
    public long[] longs() {
        long[] out = new long[values.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = values.get(i).value();
        }
        return out;
    }
}
