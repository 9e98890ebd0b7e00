package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.List;

/**
 * {@code Add(MatMul(A, B), C)} → {@code Gemm(A, B, C)} (alpha = beta = 1, no transposes), which
 * computes the same {@code Y[i, j] = Σ_k A[i, k]·B[k, j] + C[i, j]}.
 *
 * <p>Fires when A and B have rank 2 (known from the shapes), the element type is float or double,
 * the MatMul's output is read only by the Add (and is not a graph output), C is a constant that
 * broadcasts to {@code [M, N]} without widening it (a scalar, {@code [N]}, {@code [1, N]},
 * {@code [M, N]}, or any of those with 1 for a dim; a dim that is not 1 must equal the known size of
 * {@code Y}), and the opset is at least 7 (Gemm's unidirectional broadcast of C). It does not fire
 * on batched or token MatMuls ({@code [B, T, D]·[D, N]}, rank 3), whose Gemm form would need
 * Reshapes around it.
 */
final class GemmFusion implements FusionRule {
    private final Shapes shapes;

    GemmFusion(Shapes shapes) {
        this.shapes = shapes;
    }

    @Override
    public String kind() {
        return "MatMul+Add";
    }

    @Override
    public boolean tryFuse(Node matmul, Model model) {
        if (!matmul.is("MatMul") || matmul.inputs().size() != 2 || model.opsetVersion("") < 7) {
            return false;
        }
        Graph g = matmul.graph();
        Value a = matmul.input(0);
        Value b = matmul.input(1);
        Value y = matmul.output(0);
        Node add = Patterns.soleConsumer(y, g, "Add", 2);
        if (a == null || b == null || add == null) {
            return false;
        }
        Value c = Patterns.otherInput(add, y);
        Tensor cData = c == null ? null : GraphEdits.constant(c);
        if (cData == null) {
            return false;
        }
        Shape sa = shapes.shape(a);
        Shape sb = shapes.shape(b);
        if (sa == null || sa.rank() != 2 || sb == null || sb.rank() != 2) {
            return false;
        }
        DataType type = shapes.elemType(a);
        if ((type != DataType.FLOAT && type != DataType.DOUBLE) || shapes.elemType(b) != type
                || cData.dataType() != type || !broadcastsInto(cData.dims(), sa.dim(0), sb.dim(1))) {
            return false;
        }
        Patterns.replacePattern(List.of(matmul, add), add, "Gemm", List.of(a, b, c), shapes.typeFor(add.output(0)));
        return true;
    }

    /**
     * @return true when a C of these dims broadcasts to {@code [m, n]} and the sum keeps that shape:
     *     rank at most 2, each dim (aligned from the right) 1 or the known size
     */
    private static boolean broadcastsInto(long[] dims, Dim m, Dim n) {
        if (dims.length > 2) {
            return false;
        }
        Dim[] target = {m, n};
        for (int i = 0; i < dims.length; i++) {
            Dim d = target[2 - dims.length + i];
            if (dims[i] != 1 && !(d.isKnown() && d.value() == dims[i])) {
                return false;
            }
        }
        return true;
    }
}
