package dev.slimnx.graph;

import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.SparseTensor;
import dev.slimnx.graph.tensor.StringPair;
import dev.slimnx.graph.tensor.Tensor;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A graph: inputs, initializers, nodes in order, outputs. The containers keep each value's flags
 * (graph input, initializer, graph output) in step with the lists.
 *
 * <p>Nodes are kept in an order the writer uses as is; passes that insert nodes put them before
 * their first consumer, and {@link #sortTopologically()} restores an order when needed. A subgraph
 * (the body of an If, Loop or Scan) is a Graph owned by a node's attribute; its nodes may read
 * values of enclosing graphs.
 */
public final class Graph {
    private String name = "";
    private String docString = "";
    private List<StringPair> metadata = List.of();
    private OpaqueFields extra = OpaqueFields.NONE;
    private final List<Value> inputs = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private final LinkedHashMap<String, Value> initializers = new LinkedHashMap<>();
    private final List<Value> sparseInitializers = new ArrayList<>();
    private final List<Node> nodes = new ArrayList<>();
    private final List<Value> valueInfos = new ArrayList<>();
    private List<TensorAnnotation> quantizationAnnotations = List.of();
    private final NameGenerator names = new NameGenerator(this);
    Node parentNode;

    public String name() {
        return name;
    }

    public void setName(String name) {
        this.name = Objects.requireNonNull(name);
    }

    public String docString() {
        return docString;
    }

    public void setDocString(String docString) {
        this.docString = Objects.requireNonNull(docString);
    }

    public List<StringPair> metadata() {
        return metadata;
    }

    public void setMetadata(List<StringPair> metadata) {
        this.metadata = List.copyOf(metadata);
    }

    public OpaqueFields extra() {
        return extra;
    }

    public void setExtra(OpaqueFields extra) {
        this.extra = Objects.requireNonNull(extra);
    }

    /** @return the node whose attribute holds this graph, or null for a top-level graph */
    public Node parentNode() {
        return parentNode;
    }

    /** @return the enclosing graph of a subgraph, or null */
    public Graph parentGraph() {
        return parentNode == null ? null : parentNode.graph();
    }

    /** @return the name generator of this graph */
    public NameGenerator names() {
        return names;
    }

    // ---- inputs ----

    /** @return graph inputs, unmodifiable */
    public List<Value> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    /** @param value appended as a graph input */
    public void addInput(Value value) {
        if (value.producer() != null) {
            throw new IllegalArgumentException("graph input '" + value.name() + "' must not have a producer");
        }
        value.graphInput = true;
        value.owner = this;
        inputs.add(value);
        names.added(value.name());
    }

    /**
     * Removes a graph input. The value keeps its uses (remove them first, or make it an initializer).
     *
     * @param value the input
     */
    public void removeInput(Value value) {
        if (inputs.remove(value)) {
            value.graphInput = inputs.contains(value);
        }
    }

    // ---- outputs ----

    /** @return graph outputs, unmodifiable */
    public List<Value> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    /** @param value appended as a graph output */
    public void addOutput(Value value) {
        value.graphOutputCount++;
        outputs.add(value);
    }

    /**
     * Makes {@code value} the graph output at {@code index}, in place of the current one. The
     * caller decides about names: the new value usually takes over the old output's name.
     *
     * @param index output slot
     * @param value the new output
     */
    public void replaceOutput(int index, Value value) {
        Value old = outputs.set(index, value);
        old.graphOutputCount--;
        value.graphOutputCount++;
    }

    /** @param index output slot to remove */
    public void removeOutput(int index) {
        outputs.remove(index).graphOutputCount--;
    }

    // ---- initializers ----

    /** @return dense initializers in file order, unmodifiable */
    public Collection<Value> initializers() {
        return Collections.unmodifiableCollection(initializers.values());
    }

    /**
     * @param initName name
     * @return the initializer value, or null
     */
    public Value initializer(String initName) {
        return initializers.get(initName);
    }

    /**
     * Adds a constant. If a graph input of that name exists the initializer becomes its default.
     *
     * @param tensor the value; its name names the new value
     * @return the new initializer value
     * @throws IllegalArgumentException if an initializer of that name exists
     */
    public Value addInitializer(Tensor tensor) {
        Value v = new Value(tensor.name());
        addInitializer(v, tensor);
        return v;
    }

    /**
     * @param value a value with no producer
     * @param tensor its constant data
     */
    public void addInitializer(Value value, Tensor tensor) {
        if (initializers.containsKey(value.name())) {
            throw new IllegalArgumentException("initializer '" + value.name() + "' already exists");
        }
        if (value.producer() != null) {
            throw new IllegalArgumentException("initializer '" + value.name() + "' must not have a producer");
        }
        value.initializerFlag = true;
        value.owner = this;
        value.setInitializer(tensor.name().equals(value.name()) ? tensor : tensor.withName(value.name()));
        initializers.put(value.name(), value);
        names.added(value.name());
    }

    /**
     * Replaces the data of an initializer (weights rewritten by a pass).
     *
     * @param value an initializer of this graph
     * @param tensor new data; renamed to the value's name
     */
    public void setInitializerData(Value value, Tensor tensor) {
        if (initializers.get(value.name()) != value) {
            throw new IllegalArgumentException("'" + value.name() + "' is not an initializer of this graph");
        }
        value.setInitializer(tensor.name().equals(value.name()) ? tensor : tensor.withName(value.name()));
    }

    /**
     * Removes an initializer. The value keeps its uses; callers remove unused ones.
     *
     * @param value the initializer
     */
    public void removeInitializer(Value value) {
        if (initializers.remove(value.name(), value)) {
            value.initializerFlag = value.sparseInitializer() != null;
            value.setInitializer(null);
        }
    }

    /**
     * Renames an initializer in place, keeping its position.
     *
     * @param value the initializer
     * @param newName the new name
     */
    public void renameInitializer(Value value, String newName) {
        if (initializers.get(value.name()) != value) {
            throw new IllegalArgumentException("'" + value.name() + "' is not an initializer of this graph");
        }
        if (!newName.equals(value.name()) && initializers.containsKey(newName)) {
            throw new IllegalArgumentException("initializer '" + newName + "' already exists");
        }
        LinkedHashMap<String, Value> copy = new LinkedHashMap<>();
        for (Map.Entry<String, Value> e : initializers.entrySet()) {
            copy.put(e.getValue() == value ? newName : e.getKey(), e.getValue());
        }
        initializers.clear();
        initializers.putAll(copy);
        value.setName(newName);
        if (value.initializer() != null) {
            value.setInitializer(value.initializer().withName(newName));
        }
    }

    /** @return sparse initializers in file order, unmodifiable */
    public List<Value> sparseInitializers() {
        return Collections.unmodifiableList(sparseInitializers);
    }

    /**
     * @param value a value with no producer
     * @param tensor its sparse data
     */
    public void addSparseInitializer(Value value, SparseTensor tensor) {
        value.initializerFlag = true;
        value.owner = this;
        value.setSparseInitializer(tensor);
        sparseInitializers.add(value);
        NameGenerator.changed();
    }

    // ---- value info ----

    /** @return values listed in {@code value_info}, in file order, modifiable */
    public List<Value> valueInfos() {
        return valueInfos;
    }

    /** @return quantization annotations, kept for round trips */
    public List<TensorAnnotation> quantizationAnnotations() {
        return quantizationAnnotations;
    }

    public void setQuantizationAnnotations(List<TensorAnnotation> annotations) {
        this.quantizationAnnotations = List.copyOf(annotations);
    }

    // ---- nodes ----

    /** @return nodes in order, unmodifiable */
    public List<Node> nodes() {
        return Collections.unmodifiableList(nodes);
    }

    /** @param node appended at the end */
    public void addNode(Node node) {
        claim(node);
        nodes.add(node);
    }

    /**
     * @param anchor a node of this graph
     * @param node inserted right before it
     */
    public void insertBefore(Node anchor, Node node) {
        int i = indexOf(anchor);
        claim(node);
        nodes.add(i, node);
    }

    /**
     * @param anchor a node of this graph
     * @param node inserted right after it
     */
    public void insertAfter(Node anchor, Node node) {
        int i = indexOf(anchor);
        claim(node);
        nodes.add(i + 1, node);
    }

    private int indexOf(Node anchor) {
        int i = nodes.indexOf(anchor);
        if (i < 0) {
            throw new IllegalArgumentException(anchor + " is not in this graph");
        }
        return i;
    }

    private void claim(Node node) {
        if (node.graph != null) {
            throw new IllegalArgumentException(node + " is already in a graph");
        }
        node.graph = this;
        names.added(node);
    }

    /**
     * Removes a node whose outputs are no longer used. Its inputs lose the uses it made.
     *
     * @param node the node
     * @throws IllegalStateException if an output still has uses or is a graph output
     */
    public void removeNode(Node node) {
        for (Value out : node.outputs()) {
            if (!out.uses().isEmpty() || out.isGraphOutput()) {
                throw new IllegalStateException("cannot remove " + node.describe() + ": output '" + out.name()
                        + "' is still " + (out.isGraphOutput() ? "a graph output" : "used by " + out.uses().size() + " node(s)"));
            }
        }
        if (!nodes.remove(node)) {
            throw new IllegalArgumentException(node + " is not in this graph");
        }
        node.detachInputs();
        node.graph = null;
    }

    /**
     * Reorders the nodes so every node comes after the producers of its inputs (including values
     * read inside its subgraphs). Stable: an already sorted graph keeps its order.
     *
     * @throws IllegalStateException if the graph has a cycle
     */
    public void sortTopologically() {
        List<Node> sorted = topologicalOrder();
        if (sorted == null) {
            throw new IllegalStateException("graph '" + name + "' has a cycle");
        }
        nodes.clear();
        nodes.addAll(sorted);
    }

    /**
     * @return the nodes in a stable topological order, or null if there is a cycle
     */
    public List<Node> topologicalOrder() {
        Map<Node, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < nodes.size(); i++) {
            position.put(nodes.get(i), i);
        }
        Map<Node, List<Node>> consumers = new IdentityHashMap<>();
        Map<Node, Integer> pending = new IdentityHashMap<>();
        for (Node n : nodes) {
            int count = 0;
            for (Node p : producersInThisGraph(n, position)) {
                consumers.computeIfAbsent(p, k -> new ArrayList<>()).add(n);
                count++;
            }
            pending.put(n, count);
        }
        // Min-heap on original position keeps the order stable.
        java.util.PriorityQueue<Node> ready = new java.util.PriorityQueue<>((a, b) -> position.get(a) - position.get(b));
        for (Node n : nodes) {
            if (pending.get(n) == 0) {
                ready.add(n);
            }
        }
        List<Node> out = new ArrayList<>(nodes.size());
        while (!ready.isEmpty()) {
            Node n = ready.poll();
            out.add(n);
            for (Node c : consumers.getOrDefault(n, List.of())) {
                if (pending.merge(c, -1, Integer::sum) == 0) {
                    ready.add(c);
                }
            }
        }
        return out.size() == nodes.size() ? out : null;
    }

    /** Producers in this graph of the values {@code n} reads, directly or from its subgraphs (with repeats). */
    private List<Node> producersInThisGraph(Node n, Map<Node, Integer> position) {
        List<Node> out = new ArrayList<>();
        Deque<Node> work = new ArrayDeque<>();
        work.add(n);
        while (!work.isEmpty()) {
            Node cur = work.pop();
            for (Value v : cur.inputs()) {
                if (v != null && v.producer() != null && position.containsKey(v.producer()) && v.producer() != n) {
                    out.add(v.producer());
                } else if (v != null && v.producer() == n) {
                    out.add(n); // a node reading its own output, directly or from a subgraph: a cycle of length one
                }
            }
            for (Graph g : cur.subgraphs()) {
                work.addAll(g.nodes);
            }
        }
        return out;
    }

    /**
     * @return every value defined in this graph: inputs, initializers, node outputs (not subgraphs')
     */
    public Map<String, Value> valuesByName() {
        Map<String, Value> out = new HashMap<>();
        for (Value v : inputs) {
            out.put(v.name(), v);
        }
        for (Value v : initializers.values()) {
            out.put(v.name(), v);
        }
        for (Value v : sparseInitializers) {
            out.put(v.name(), v);
        }
        for (Node n : nodes) {
            for (Value v : n.outputs()) {
                if (!v.name().isEmpty()) {
                    out.put(v.name(), v);
                }
            }
        }
        return out;
    }

    /** @return this graph's nodes and, recursively, those of its subgraphs */
    public List<Node> allNodes() {
        List<Node> out = new ArrayList<>();
        for (Node n : nodes) {
            out.add(n);
            for (Graph g : n.subgraphs()) {
                out.addAll(g.allNodes());
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return "Graph[" + name + ", " + nodes.size() + " nodes]";
    }
}
