package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A layer norm written out op by op → {@code LayerNormalization(x, γ, β, axis=-1, epsilon=ε)}:
 *
 * <pre>
 * μ = ReduceMean(x, axes=[-1])          d = Sub(x, μ)
 * σ² = ReduceMean(Pow(d, 2), axes=[-1])  (or Mul(d, d))
 * y = Add(Mul(Div(d, Sqrt(Add(σ², ε))), γ), β)
 * </pre>
 *
 * which is {@code y = (x − μ) / √(σ² + ε) · γ + β} over the last axis, the definition of
 * LayerNormalization (opset 17).
 *
 * <p>Fires when the model's default opset is at least 17 (the opset is never raised); x is float
 * with a known rank and a known last dim D; both ReduceMeans reduce exactly the last axis (axes as
 * an attribute below opset 18, as a constant input from 18; negative or not) with keepdims = 1; the
 * exponent is the constant 2; ε is a one-element constant; every intermediate value is read only
 * inside the pattern (d by the Pow and the Div, or by the Mul twice and the Div) and none is a
 * graph output. The tail is taken as far as it matches: {@code Mul} by a constant γ of shape
 * {@code [D]} then {@code Add} of a constant β of shape {@code [D]}; {@code Mul} by γ without the
 * Add gives LayerNormalization without B (bias 0); no Mul gives γ = a new constant of ones. A Mul
 * or Add that does not match stays after the fused node.
 *
 * <p>It does not fire on other reductions (several axes, keepdims = 0, the variance taken as
 * {@code E[x²] − μ²}), on {@code Mul(d, Reciprocal(...))} forms, or when an intermediate is read
 * elsewhere.
 *
 * <p>NOTE: LayerNormalization may compute σ² in another order than the two ReduceMeans (ONNX
 * Runtime's CPU kernel uses {@code E[x²] − μ²}); the results agree to float rounding for inputs
 * whose mean is not far larger than their spread, which is what a norm layer sees.
 */
final class LayerNormFusion implements FusionRule {
    private final Shapes shapes;

    LayerNormFusion(Shapes shapes) {
        this.shapes = shapes;
    }

    @Override
    public String kind() {
        return "decomposed LayerNormalization";
    }

    @Override
    public boolean tryFuse(Node meanNode, Model model) {
        long opset = model.opsetVersion("");
        if (!meanNode.is("ReduceMean") || meanNode.inputs().size() != (opset >= 18 ? 2 : 1) || opset < 17) {
            return false;
        }
        Graph g = meanNode.graph();
        Value x = meanNode.input(0);
        Node sub = Patterns.soleConsumer(meanNode.output(0), g, "Sub", 2);
        if (x == null || sub == null || sub.input(0) != x || sub.input(1) != meanNode.output(0)) {
            return false;
        }
        Value d = sub.output(0);
        Node square = null;
        Node div = null;
        if (d.isGraphOutput() || d.uses().size() > 3) {
            return false;
        }
        for (Use u : d.uses()) {
            Node n = u.node();
            if (n.graph() != g) {
                return false;
            } else if (n.is("Div") && u.inputIndex() == 0 && n.inputs().size() == 2 && div == null) {
                div = n;
            } else if ((n.is("Pow") || n.is("Mul")) && n.inputs().size() == 2 && (square == null || square == n)) {
                square = n;
            } else {
                return false;
            }
        }
        boolean squares = square != null && (square.is("Pow")
                ? d.uses().size() == 2 && square.input(0) == d && square.input(1) != d
                : d.uses().size() == 3 && square.input(0) == d && square.input(1) == d);
        if (!squares || div == null) {
            return false;
        }
        Node varNode = Patterns.soleConsumer(square.output(0), g, "ReduceMean", opset >= 18 ? 2 : 1);
        Node plusEps = varNode == null ? null : Patterns.soleConsumer(varNode.output(0), g, "Add", 2);
        Node sqrt = plusEps == null ? null : Patterns.soleConsumer(plusEps.output(0), g, "Sqrt", 1);
        if (sqrt == null || Patterns.soleConsumer(sqrt.output(0), g, "Div", 2) != div
                || div.input(1) != sqrt.output(0)) {
            return false;
        }
        Shape shape = shapes.shape(x);
        int rank = shape == null ? -1 : shape.rank();
        if (rank < 1 || shapes.elemType(x) != DataType.FLOAT) {
            return false;
        }
        Dim last = shape.dim(rank - 1);
        Double eps = Patterns.scalar(Patterns.otherInput(plusEps, varNode.output(0)), rank);
        if (!last.isKnown() || eps == null || !Double.isFinite(eps)
                || !reducesLastAxis(meanNode, rank, opset) || !reducesLastAxis(varNode, rank, opset)
                || (square.is("Pow") && !Double.valueOf(2).equals(Patterns.scalar(square.input(1), rank)))) {
            return false;
        }

        List<Node> pattern = new ArrayList<>(List.of(meanNode, sub, square, varNode, plusEps, sqrt, div));
        Node end = div;
        Value gamma = null;
        Value beta = null;
        Node mul = Patterns.soleConsumer(div.output(0), g, "Mul", 2);
        if (mul != null && isVector(Patterns.otherInput(mul, div.output(0)), last.value())) {
            gamma = Patterns.otherInput(mul, div.output(0));
            pattern.add(mul);
            end = mul;
            Node add = Patterns.soleConsumer(mul.output(0), g, "Add", 2);
            if (add != null && isVector(Patterns.otherInput(add, mul.output(0)), last.value())) {
                beta = Patterns.otherInput(add, mul.output(0));
                pattern.add(add);
                end = add;
            }
        }

        if (gamma == null) {
            float[] ones = new float[Math.toIntExact(last.value())];
            Arrays.fill(ones, 1f);
            gamma = GraphEdits.addConstant(g, Patterns.scopeOf(meanNode.name()) + "LayerNormalization_scale",
                    Tensor.ofFloats("ones", new long[] {ones.length}, ones));
        }
        List<Value> inputs = beta == null ? List.of(x, gamma) : List.of(x, gamma, beta);
        Node ln = Patterns.replacePattern(pattern, end, "LayerNormalization", inputs, shapes.typeFor(end.output(0)));
        ln.setAttribute(Attribute.ofInt("axis", -1));
        ln.setAttribute(Attribute.ofFloat("epsilon", eps.floatValue()));
        return true;
    }

    /**
     * @return true when the ReduceMean keeps dims and reduces exactly the last axis of a rank-{@code rank}
     *     input, with axes where its opset puts them
     */
    private static boolean reducesLastAxis(Node reduce, int rank, long opset) {
        if (reduce.intAttr("keepdims", 1) != 1) {
            return false;
        }
        long[] axes;
        if (opset >= 18) {
            Tensor t = reduce.input(1) == null ? null : GraphEdits.constant(reduce.input(1));
            if (reduce.attribute("axes") != null || t == null || !t.dataType().isInteger() || t.rank() > 1) {
                return false;
            }
            axes = t.toLongArray();
        } else {
            if (reduce.input(1) != null) {
                return false;
            }
            axes = reduce.intsAttr("axes");
        }
        return axes != null && axes.length == 1 && (axes[0] < 0 ? axes[0] + rank : axes[0]) == rank - 1;
    }

    /** @return true when {@code v} is a float constant of shape {@code [size]} */
    private static boolean isVector(Value v, long size) {
        Tensor t = v == null ? null : GraphEdits.constant(v);
        return t != null && t.dataType() == DataType.FLOAT && t.rank() == 1 && t.dims()[0] == size;
    }
}
