package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Tensor;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The exact GELU as PyTorch exports it, {@code y = k·x·(b + erf(x/s))} (k = 0.5, b = 1, s = √2),
 * five nodes: {@code Div(x, s)} (or {@code Mul(x, 1/s)}), {@code Erf}, {@code Add(·, b)},
 * {@code Mul(x, ·)}, {@code Mul(·, k)}; differentiated as one.
 *
 * <p>With {@code d = x/s} and {@code a = b + erf(d)}, both forward values,
 * {@code dy/dx = k·a + (2k/√π)·d·exp(-d²)}: eight elementwise nodes over the hidden activations
 * instead of the ten the five rules emit one by one, and no {@code Sum} of the two gradients that
 * reach {@code x} (through the Div and through the Mul). The MLP's hidden layer is the largest
 * activation of a ViT block, so this is a tenth of a ViT's backward elementwise work.
 *
 * <p>Matched only when the constants are scalar constants that are not differentiated, and the
 * intermediate values are read by the next node of the chain alone (not graph outputs); otherwise
 * the nodes keep their own rules.
 */
final class ErfGelu {
    private final Node last;
    private final Value x;
    private final Value d;
    private final Value a;
    private final double k;

    private ErfGelu(Node last, Value x, Value d, Value a, double k) {
        this.last = last;
        this.x = x;
        this.d = d;
        this.a = a;
        this.k = k;
    }

    /**
     * @param path the nodes on the differentiated path, in topological order
     * @param info constants of the forward graph
     * @param differentiated whether a value depends on a differentiated source
     * @return the matches, by their last node
     */
    static Map<Node, ErfGelu> find(List<Node> path, ForwardInfo info, Predicate<Value> differentiated) {
        Map<Node, ErfGelu> out = new IdentityHashMap<>();
        for (Node last : path) {
            ErfGelu m = match(last, info, differentiated);
            if (m != null) {
                out.put(last, m);
            }
        }
        return out;
    }

    private static ErfGelu match(Node last, ForwardInfo info, Predicate<Value> differentiated) {
        if (!last.is("Mul") || last.inputs().size() != 2) {
            return null;
        }
        int kSlot = scalarSlot(last, info, differentiated);
        if (kSlot < 0) {
            return null;
        }
        Node mul = soleProducer(last.input(1 - kSlot), "Mul");
        if (mul == null) {
            return null;
        }
        for (int xSlot = 0; xSlot < 2; xSlot++) {
            Value x = mul.input(xSlot);
            Node add = soleProducer(mul.input(1 - xSlot), "Add");
            if (add == null) {
                continue;
            }
            int bSlot = scalarSlot(add, info, differentiated);
            Node erf = bSlot < 0 ? null : soleProducer(add.input(1 - bSlot), "Erf");
            Node div = erf == null ? null : soleProducer(erf.input(0), null);
            if (div == null || div.inputs().size() != 2 || div.input(0) != x
                    || !(div.is("Div") || div.is("Mul")) || scalarSlot(div, info, differentiated) != 1) {
                continue;
            }
            double k = info.constant(last.input(kSlot)).toDoubleArray()[0];
            return new ErfGelu(last, x, div.output(0), add.output(0), k);
        }
        return null;
    }

    /** The slot of a constant scalar input that is not differentiated, or -1. */
    private static int scalarSlot(Node n, ForwardInfo info, Predicate<Value> differentiated) {
        for (int i = 0; i < 2; i++) {
            Value v = n.input(i);
            Tensor t = info.constant(v);
            if (t != null && t.numElements() == 1 && t.dataType().isFloatingPoint() && !differentiated.test(v)) {
                return i;
            }
        }
        return -1;
    }

    /** The producer of {@code v} when it is of {@code opType} (any, when null) and v has one use. */
    private static Node soleProducer(Value v, String opType) {
        Node p = v == null ? null : v.producer();
        if (p == null || (opType != null && !p.is(opType)) || p.outputs().size() != 1 || v.uses().size() != 1
                || v.isGraphOutput()) {
            return null;
        }
        return p;
    }

    /** @return the chain's input */
    Value input() {
        return x;
    }

    /**
     * @param c the context of the chain's last node
     * @param g the gradient of its output
     * @return the gradient of the chain's input
     */
    Value inputGrad(BackwardContext c, Value g) {
        GraphEmitter e = c.emit();
        Value gauss = e.op("Exp", e.op("Neg", e.op("Mul", d, d)));
        Value slope = e.op("Add", e.op("Mul", a, c.scalarLike(k, x)),
                e.op("Mul", e.op("Mul", d, gauss), c.scalarLike(2 * k / Math.sqrt(Math.PI), x)));
        return e.op("Mul", g, slope);
    }

    /** @return the last node of the chain */
    Node last() {
        return last;
    }
}
