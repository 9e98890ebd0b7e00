package dev.slimnx.passes;

import dev.slimnx.graph.ConstantNode;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.List;

/**
 * Small graph edits every rewrite needs, written once so each pass keeps to the same rules:
 * graph-output names survive, constants are read the same way, and nothing a pass made unused is
 * left behind.
 */
public final class GraphEdits {
    private GraphEdits() {
    }

    /**
     * The value of a constant: an initializer that is not a graph input, or the output of a
     * {@code Constant} node (any of its {@code value*} attributes; sparse values are not read).
     *
     * @param v a value
     * @return its tensor, or null when it is not constant
     */
    public static Tensor constant(Value v) {
        Tensor t = v.constant();
        if (t != null) {
            return t;
        }
        return v.producer() == null ? null : ConstantNode.valueOf(v.producer());
    }

    /**
     * The value holding the constant that {@code v} carries, looking through {@code Identity}
     * nodes: PyTorch exports a weight shared by two modules as one initializer, read once directly
     * and once through an Identity. Use it with {@link #removeIfUnusedThroughIdentities} when the
     * reader goes.
     *
     * @param v a value, possibly null
     * @return {@code v} itself when it is a constant ({@link #constant}), else the constant at the
     *     end of a chain of Identity nodes producing it, else null
     */
    public static Value constantSource(Value v) {
        Value at = v;
        // NOTE: bounded so that a malformed cycle of Identities cannot loop forever
        for (int hops = 0; at != null && hops < 64; hops++) {
            if (constant(at) != null) {
                return at;
            }
            Node p = at.producer();
            if (p == null || !p.is("Identity") || p.inputs().isEmpty()) {
                return null;
            }
            at = p.input(0);
        }
        return null;
    }

    /**
     * Removes the Identity nodes of a chain found by {@link #constantSource} that nothing reads any
     * more, from {@code v} back towards the constant, and the constant itself when it is unused
     * ({@link #removeIfUnused}).
     *
     * @param v a value that lost a reader, possibly null
     */
    public static void removeIfUnusedThroughIdentities(Value v) {
        Value at = v;
        for (int hops = 0; at != null && hops < 64; hops++) {
            Node p = at.producer();
            if (p == null || !p.is("Identity") || !at.uses().isEmpty() || at.isGraphOutput()) {
                removeIfUnused(at);
                return;
            }
            Value next = p.inputs().isEmpty() ? null : p.input(0);
            removeNode(p);
            at = next;
        }
    }

    /**
     * @param v a value
     * @return true when it is a float32 constant (the weights the folding passes rewrite)
     */
    public static boolean isFloatConstant(Value v) {
        Tensor t = constant(v);
        return t != null && t.dataType() == DataType.FLOAT;
    }

    /**
     * @param v a value
     * @return true when exactly one node input reads it and it is not a graph output, so the
     *     producer may be rewritten without changing what anyone else sees
     */
    public static boolean hasSoleUse(Value v) {
        return v.uses().size() == 1 && !v.isGraphOutput();
    }

    /**
     * Makes every reader of {@code old} read {@code replacement} instead, graph outputs included.
     * A graph output keeps its name: when {@code old} is one, {@code replacement} is renamed to it,
     * which is only possible when the replacement is a node output of the same graph that is not
     * itself a graph input or output (it also takes the output's declared type when it has none);
     * otherwise nothing changes and the answer is false. Check with
     * {@link #canReplace} before the first mutation of an all-or-nothing rewrite.
     *
     * @param old the value going away
     * @param replacement the value taking its place
     * @return true when the replacement was made
     */
    public static boolean replace(Value old, Value replacement) {
        if (!canReplace(old, replacement)) {
            return false;
        }
        if (old.isGraphOutput()) {
            Graph g = old.graph();
            String name = old.name();
            old.setName(g.names().fresh(name + "_replaced"));
            replacement.setName(name);
            if (replacement.type() == null) {
                replacement.setType(old.type()); // the same value: the output keeps its declared type
            }
            for (int i = 0; i < g.outputs().size(); i++) {
                if (g.outputs().get(i) == old) {
                    g.replaceOutput(i, replacement);
                }
            }
        }
        old.replaceAllUsesWith(replacement);
        return true;
    }

    /**
     * @param old the value going away
     * @param replacement the value taking its place
     * @return true when {@link #replace} would succeed
     */
    public static boolean canReplace(Value old, Value replacement) {
        if (!old.isGraphOutput()) {
            return true;
        }
        // NOTE: a subgraph output must be made inside the subgraph: ONNX Runtime rejects a body
        // that returns an outer-scope value directly (it asks for an Identity in between), and the
        // rename would reach into the outer graph.
        return replacement.producer() != null && !replacement.isGraphOutput() && !replacement.isGraphInput()
                && replacement.graph() == old.graph();
    }

    /**
     * Removes a node after its outputs were replaced, and any initializer or {@code Constant} node
     * that fed it and is now unused. The {@code value_info} entries of the removed outputs go too.
     *
     * @param node a node whose outputs have no uses and are not graph outputs
     */
    public static void removeNodeAndUnusedConstants(Node node) {
        List<Value> inputs = new ArrayList<>(node.inputs()); // may hold nulls (omitted optional inputs)
        removeNode(node);
        for (Value in : inputs) {
            removeIfUnused(in);
        }
    }

    /**
     * NOTE: a {@code value_info} entry left behind would still be written, and the name generator
     * does not see it: a later value given the same name would inherit a stale declared type.
     */
    private static void removeNode(Node node) {
        Graph g = node.graph();
        g.removeNode(node);
        g.valueInfos().removeIf(v -> v.producer() == node);
    }

    /**
     * Removes a constant nobody reads any more: an initializer (not a graph input) or a
     * {@code Constant} node's output.
     *
     * @param v a value, possibly null (an omitted optional input)
     */
    public static void removeIfUnused(Value v) {
        if (v == null || !v.uses().isEmpty() || v.isGraphOutput() || v.isGraphInput()) {
            return;
        }
        if (v.isInitializer() && v.initializer() != null) {
            v.graph().removeInitializer(v);
        } else if (v.producer() != null && v.producer().is("Constant")) {
            removeNode(v.producer());
        }
    }

    /**
     * Puts a constant in the place of a computed value: a new initializer takes the value's name,
     * every use (subgraph reads included) and every graph-output slot, so whoever reads the model
     * by name sees the same names. The old value is renamed, left without uses and dropped from its
     * graph's {@code value_info}, so its producer can be removed next.
     *
     * <p>Unlike {@link #replace}, this cannot fail: an initializer may be a graph output.
     *
     * @param old a node output (not a graph input or initializer)
     * @param data its value (the tensor's own name is ignored)
     * @return the initializer now standing for {@code old}
     * @throws IllegalArgumentException when {@code old} is not a node output in a graph
     */
    public static Value replaceWithConstant(Value old, Tensor data) {
        Graph g = old.graph();
        if (old.producer() == null || g == null || old.name().isEmpty()) {
            throw new IllegalArgumentException("'" + old.name() + "' is not a named node output in a graph");
        }
        String name = old.name();
        old.setName(g.names().fresh(name + "_folded"));
        Value c = g.addInitializer(data.withName(name));
        c.setType(ValueType.TensorType.of(data.dataType(), data.shape()));
        c.setDocString(old.docString());
        c.setMetadata(old.metadata());
        old.replaceAllUsesWith(c);
        for (int i = 0; i < g.outputs().size(); i++) {
            if (g.outputs().get(i) == old) {
                g.replaceOutput(i, c);
            }
        }
        g.valueInfos().removeIf(v -> v == old);
        return c;
    }

    /**
     * @param g the graph
     * @param nameHint a name to start from; a suffix keeps it unique
     * @param data the tensor (its own name is ignored)
     * @return a new initializer holding {@code data}
     */
    public static Value addConstant(Graph g, String nameHint, Tensor data) {
        return g.addInitializer(data.withName(g.names().fresh(nameHint)));
    }
}
