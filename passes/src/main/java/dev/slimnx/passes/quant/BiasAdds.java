package dev.slimnx.passes.quant;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.Arrays;

/**
 * Finds the bias {@code Add} after a MatMul that a quantized operator with a {@code bias} input
 * ({@code DynamicQuantizeMatMul}, {@code MatMulNBits}) can take over. PyTorch exports a linear layer
 * on 3-D tokens as {@code MatMul} followed by such an Add.
 */
final class BiasAdds {
    private BiasAdds() {
    }

    /**
     * @param y a MatMul output with {@code n} columns
     * @param n the columns
     * @param outputRank the rank of {@code y}
     * @return the {@code Add} that alone reads {@code y}, in the same graph, adding a float32 constant
     *     that broadcasts along the last axis only and whose rank is at most {@code outputRank} (so
     *     the sum has the shape of {@code y}); or null
     */
    static Node soleBiasAdd(Value y, int n, int outputRank) {
        if (!GraphEdits.hasSoleUse(y)) {
            return null;
        }
        Node add = y.uses().get(0).node();
        if (!add.is("Add") || add.graph() != y.graph() || add.inputs().size() != 2 || add.input(0) == add.input(1)) {
            return null;
        }
        Tensor b = GraphEdits.constant(otherInput(add, y));
        if (b == null || b.dataType() != DataType.FLOAT || b.rank() > outputRank) {
            return null;
        }
        return alongLastAxis(b, n) != null ? add : null;
    }

    /**
     * @param add an Add found by {@link #soleBiasAdd}
     * @param y the MatMul output it reads
     * @param n the columns
     * @return its bias as {@code n} values
     */
    static float[] bias(Node add, Value y, int n) {
        return alongLastAxis(GraphEdits.constant(otherInput(add, y)), n);
    }

    /**
     * @param b a float32 tensor
     * @param n the columns
     * @return the {@code n} values {@code b} adds to every row when it has shape {@code []},
     *     {@code [1]}, {@code [n]} or {@code [1, …, 1, n or 1]}; null for any other shape
     */
    static float[] alongLastAxis(Tensor b, int n) {
        long[] d = b.dims();
        for (int i = 0; i < d.length - 1; i++) {
            if (d[i] != 1) {
                return null;
            }
        }
        long last = d.length == 0 ? 1 : d[d.length - 1];
        if (last != n && last != 1) {
            return null;
        }
        float[] v = b.toFloatArray();
        if (last == n) {
            return v;
        }
        float[] out = new float[n];
        Arrays.fill(out, v[0]);
        return out;
    }

    private static Value otherInput(Node add, Value y) {
        return add.input(0) == y ? add.input(1) : add.input(0);
    }
}
