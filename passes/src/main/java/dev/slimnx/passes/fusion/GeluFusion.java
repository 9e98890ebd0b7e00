package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.passes.GraphEdits;
import java.util.List;
import java.util.Set;

/**
 * The exact (erf) GELU written out op by op → {@code Gelu(x)} (approximate = "none", the default):
 * {@code y = x · 0.5 · (1 + erf(x / √2))}.
 *
 * <p>Fires when the model's default opset is at least 20 (Gelu's first version; the opset is never
 * raised), x is float, float16, bfloat16 or double, and the pattern is
 * {@code Erf(Div(x, √2))} or {@code Erf(Mul(x, 1/√2))}, then {@code Add(·, 1)}, then the product of
 * x, 0.5 and that sum taken as two Muls in any grouping and operand order: {@code (x·p)·0.5} (what
 * PyTorch exports), {@code (0.5·x)·p} (TensorFlow) or {@code (p·0.5)·x}. The constants are
 * one-element constants within a relative 1e-6 of √2, 1/√2, 1 and 0.5, no wider in rank than x
 * (x's rank unknown: scalars only); every intermediate is read only inside the pattern and is not
 * a graph output, and the two x's are the same value.
 *
 * <p>It does not fire below opset 20, on the tanh approximation, or when any constant or operand
 * differs (e.g. {@code Add(·, 2)}, a product with another value than x).
 */
final class GeluFusion implements FusionRule {
    private static final double SQRT2 = Math.sqrt(2);
    private static final Set<DataType> TYPES =
            Set.of(DataType.FLOAT, DataType.FLOAT16, DataType.BFLOAT16, DataType.DOUBLE);

    private final Shapes shapes;

    GeluFusion(Shapes shapes) {
        this.shapes = shapes;
    }

    @Override
    public String kind() {
        return "Erf GELU";
    }

    @Override
    public boolean tryFuse(Node erf, Model model) {
        if (!erf.is("Erf") || erf.inputs().size() != 1 || model.opsetVersion("") < 20) {
            return false;
        }
        Graph g = erf.graph();
        Value scaled = erf.input(0);
        Node scale = scaled == null ? null : scaled.producer();
        Node plusOne = Patterns.soleConsumer(erf.output(0), g, "Add", 2);
        Node m1 = plusOne == null ? null : Patterns.soleConsumer(plusOne.output(0), g, "Mul", 2);
        if (scale == null || scale.graph() != g || scale.inputs().size() != 2 || m1 == null
                || !(scale.is("Div") || scale.is("Mul")) || !GraphEdits.hasSoleUse(scaled)) {
            return false;
        }
        Value x = scaledInput(scale);
        if (x == null || !TYPES.contains(shapes.elemType(x))) {
            return false;
        }
        // every constant must be no wider in rank than x, so the product keeps x's shape
        int maxRank = Math.max(shapes.rank(x), 0);
        if (Patterns.scalar(Patterns.otherInput(scale, x), maxRank) == null
                || !Patterns.near(Patterns.scalar(Patterns.otherInput(plusOne, erf.output(0)), maxRank), 1)) {
            return false;
        }
        Value p = plusOne.output(0);
        Value o1 = Patterns.otherInput(m1, p);
        List<Node> pattern;
        Node last;
        if (o1 == x || Patterns.near(Patterns.scalar(o1, maxRank), 0.5)) {
            // (x·p)·0.5 or (p·0.5)·x: the second Mul brings the factor the first lacks
            Node m2 = Patterns.soleConsumer(m1.output(0), g, "Mul", 2);
            Value o2 = m2 == null ? null : Patterns.otherInput(m2, m1.output(0));
            boolean completes = o1 == x ? Patterns.near(Patterns.scalar(o2, maxRank), 0.5) : o2 == x;
            if (!completes) {
                return false;
            }
            pattern = List.of(scale, erf, plusOne, m1, m2);
            last = m2;
        } else {
            // (0.5·x)·p
            Node half = o1 == null ? null : o1.producer();
            if (half == null || !half.is("Mul") || half.graph() != g || half.inputs().size() != 2
                    || o1.uses().size() != 1 || o1.isGraphOutput()
                    || !Patterns.near(Patterns.scalar(Patterns.otherInput(half, x), maxRank), 0.5)) {
                return false;
            }
            pattern = List.of(scale, erf, plusOne, half, m1);
            last = m1;
        }
        Patterns.replacePattern(pattern, last, "Gelu", List.of(x), shapes.typeFor(last.output(0)));
        return true;
    }

    /** @return x of {@code Div(x, √2)}, {@code Mul(x, 1/√2)} or {@code Mul(1/√2, x)}, or null */
    private static Value scaledInput(Node scale) {
        int anyRank = Integer.MAX_VALUE;
        if (scale.is("Div")) {
            return Patterns.near(Patterns.scalar(scale.input(1), anyRank), SQRT2) ? scale.input(0) : null;
        }
        if (Patterns.near(Patterns.scalar(scale.input(1), anyRank), 1 / SQRT2)) {
            return scale.input(0);
        }
        return Patterns.near(Patterns.scalar(scale.input(0), anyRank), 1 / SQRT2) ? scale.input(1) : null;
    }
}
