package dev.slimnx.passes.fusion;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** Matching and replacing helpers the fusion rules share. */
final class Patterns {
    /** Relative tolerance for the constants of a pattern (√2, 1/√2, 1, 0.5). */
    static final double CONSTANT_RTOL = 1e-6;

    private Patterns() {
    }

    /**
     * @param v a value
     * @param g the graph the pattern lives in
     * @param opType the op the consumer must be
     * @param arity the number of inputs it must have
     * @return the only node reading {@code v}, when it is {@code opType} of the ONNX domain with
     *     {@code arity} inputs, in {@code g}, and {@code v} is not a graph output; else null
     */
    static Node soleConsumer(Value v, Graph g, String opType, int arity) {
        if (!GraphEdits.hasSoleUse(v)) {
            return null;
        }
        Node n = v.uses().get(0).node();
        return n.is(opType) && n.inputs().size() == arity && n.graph() == g ? n : null;
    }

    /**
     * @param binary a node with two inputs
     * @param known one of them
     * @return the other input, or null when {@code known} is not an input or both inputs are the same
     */
    static Value otherInput(Node binary, Value known) {
        Value a = binary.input(0);
        Value b = binary.input(1);
        if (a == known && b != known) {
            return b;
        }
        if (b == known && a != known) {
            return a;
        }
        return null;
    }

    /**
     * A constant with exactly one element whose rank does not exceed {@code maxRank}, so that
     * broadcasting it against a tensor of that rank changes neither the shape nor the rank.
     *
     * @param v a value, possibly null
     * @param maxRank the rank of the tensor it is combined with, or 0 when that rank is unknown
     * @return its value, or null when it is not such a constant (or not a real number)
     */
    static Double scalar(Value v, int maxRank) {
        Tensor t = v == null ? null : GraphEdits.constant(v);
        if (t == null || t.numElements() != 1 || t.rank() > maxRank || t.isExternal()) {
            return null;
        }
        DataType type = t.dataType();
        if (!type.isFloatingPoint() && !type.isInteger()) {
            return null;
        }
        return t.toDoubleArray()[0];
    }

    /** @return true when {@code actual} is a number within {@link #CONSTANT_RTOL} of {@code expected} */
    static boolean near(Double actual, double expected) {
        return actual != null && Math.abs(actual - expected) <= CONSTANT_RTOL * Math.abs(expected);
    }

    /**
     * Adds {@code opType(inputs)} right before {@code last}, the final node of a matched pattern,
     * makes every reader of the pattern's result read the new node instead (a graph output keeps
     * its name), and removes the pattern's nodes and the constants only they read. Call it only
     * after every check passed: the inputs must be defined before {@code last}, and every value
     * the pattern computes except the result must be read only inside the pattern.
     *
     * @param pattern the matched nodes, {@code last} among them
     * @param last the node whose output the fused node replaces
     * @param opType the fused op (ONNX domain); its attributes are the caller's to set
     * @param inputs the fused node's inputs
     * @param type the type of the fused output (that of the value it replaces)
     * @return the new node
     */
    static Node replacePattern(List<Node> pattern, Node last, String opType, List<Value> inputs, ValueType type) {
        Graph g = last.graph();
        Value result = last.output(0);
        String base = scopeOf(pattern.get(0).name()) + opType;
        Value out = new Value(g.names().fresh(base + "_output_0"), type);
        Node fused = new Node("", opType, inputs, List.of(out), List.of());
        fused.setName(g.names().fresh(base));
        g.insertBefore(last, fused);
        if (!GraphEdits.replace(result, out)) {
            throw new IllegalStateException("cannot replace " + result + " by a fresh node output");
        }
        removeUnused(g, pattern);
        return fused;
    }

    /**
     * @return the scope of a node name, {@code /blocks.0/mlp/fc1/} for {@code /blocks.0/mlp/fc1/MatMul},
     *     so new names keep the exporter's scopes
     */
    static String scopeOf(String nodeName) {
        int slash = nodeName.lastIndexOf('/');
        return slash < 0 ? "" : nodeName.substring(0, slash + 1);
    }

    /**
     * Removes the nodes (their outputs no longer read), each as soon as nothing reads its outputs,
     * with their {@code value_info} entries and the constants only they read.
     */
    private static void removeUnused(Graph g, List<Node> nodes) {
        List<Node> left = new ArrayList<>(nodes);
        while (!left.isEmpty()) {
            boolean removed = false;
            for (Iterator<Node> it = left.iterator(); it.hasNext(); ) {
                Node n = it.next();
                if (n.outputs().stream().allMatch(o -> o.uses().isEmpty() && !o.isGraphOutput())) {
                    g.valueInfos().removeAll(n.outputs());
                    GraphEdits.removeNodeAndUnusedConstants(n);
                    it.remove();
                    removed = true;
                }
            }
            if (!removed) {
                throw new IllegalStateException("a fused pattern is still read: " + left.get(0).describe());
            }
        }
    }
}
