package dev.slimnx.graph;

import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.SparseTensor;
import dev.slimnx.graph.tensor.StringPair;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A value in SSA form: it has at most one producer (a node output, a graph input or an
 * initializer) and a list of uses.
 *
 * <p>The use-list is changed only by {@link Node}'s mutators, and the graph-input, initializer and
 * graph-output flags only by {@link Graph}'s containers, so the two views never disagree.
 */
public final class Value {
    private String name;
    private ValueType type;
    private String docString = "";
    private List<StringPair> metadata = List.of();
    private OpaqueFields extra = OpaqueFields.NONE;

    private Node producer;
    private int producerIndex = -1;
    private final List<Use> uses = new ArrayList<>();

    Graph owner;
    boolean graphInput;
    boolean initializerFlag;
    int graphOutputCount;
    private Tensor initializer;
    private SparseTensor sparseInitializer;

    /**
     * @param name the name; empty for an omitted optional output
     */
    public Value(String name) {
        this.name = Objects.requireNonNull(name);
    }

    /**
     * @param name the name
     * @param type the type, or null when unknown
     */
    public Value(String name, ValueType type) {
        this(name);
        this.type = type;
    }

    /** @return the name */
    public String name() {
        return name;
    }

    /**
     * Renames the value. Callers keep names unique within the graph (see {@link Graph#names()}).
     *
     * @param newName the new name
     */
    public void setName(String newName) {
        this.name = Objects.requireNonNull(newName);
        Graph graph = owner != null ? owner : producer != null ? producer.graph : null;
        if (graph != null) {
            graph.names().added(newName); // a value in no graph yet has its name gathered when it joins one
        }
    }

    /** @return the type, or null when unknown */
    public ValueType type() {
        return type;
    }

    /** @param type the type, or null for unknown */
    public void setType(ValueType type) {
        this.type = type;
    }

    /** @return the element type if this is a tensor of known element type, else null */
    public DataType elemType() {
        return type instanceof ValueType.TensorType t && t.elemType() != DataType.UNDEFINED ? t.elemType() : null;
    }

    /** @return the shape if this is a tensor of known rank, else null */
    public Shape shape() {
        return type instanceof ValueType.TensorType t ? t.shape() : null;
    }

    /** @return documentation of its {@code ValueInfoProto}, empty when none */
    public String docString() {
        return docString;
    }

    /** @param docString documentation */
    public void setDocString(String docString) {
        this.docString = Objects.requireNonNull(docString);
    }

    /** @return metadata of its {@code ValueInfoProto} */
    public List<StringPair> metadata() {
        return metadata;
    }

    /** @param metadata metadata entries */
    public void setMetadata(List<StringPair> metadata) {
        this.metadata = List.copyOf(metadata);
    }

    /** @return uninterpreted fields of its {@code ValueInfoProto} */
    public OpaqueFields extra() {
        return extra;
    }

    /** @param extra uninterpreted fields */
    public void setExtra(OpaqueFields extra) {
        this.extra = Objects.requireNonNull(extra);
    }

    /** @return the producing node, or null for graph inputs, initializers and detached values */
    public Node producer() {
        return producer;
    }

    /** @return the output slot of the producer, or -1 */
    public int producerIndex() {
        return producerIndex;
    }

    void setProducer(Node node, int index) {
        this.producer = node;
        this.producerIndex = index;
    }

    /** @return the uses, unmodifiable; a snapshot is needed to mutate while iterating */
    public List<Use> uses() {
        return Collections.unmodifiableList(uses);
    }

    void addUse(Node node, int index) {
        uses.add(new Use(node, index));
    }

    void removeUse(Node node, int index) {
        for (int i = 0; i < uses.size(); i++) {
            Use u = uses.get(i);
            if (u.node() == node && u.inputIndex() == index) {
                uses.remove(i);
                return;
            }
        }
        throw new IllegalStateException("value '" + name + "' has no use by " + node + " at input " + index);
    }

    /** @return the graph that defines this value (input, initializer or producer's graph), or null */
    public Graph graph() {
        return producer != null ? producer.graph() : owner;
    }

    /** @return true if this value is an input of its graph */
    public boolean isGraphInput() {
        return graphInput;
    }

    /** @return true if this value is an output of its graph */
    public boolean isGraphOutput() {
        return graphOutputCount > 0;
    }

    /** @return true if this value is an initializer (dense or sparse) */
    public boolean isInitializer() {
        return initializerFlag;
    }

    /** @return the initializer tensor, or null */
    public Tensor initializer() {
        return initializer;
    }

    void setInitializer(Tensor tensor) {
        this.initializer = tensor;
    }

    /** @return the sparse initializer, or null */
    public SparseTensor sparseInitializer() {
        return sparseInitializer;
    }

    void setSparseInitializer(SparseTensor tensor) {
        this.sparseInitializer = tensor;
    }

    /**
     * A value is constant when it is an initializer that is not also a graph input (an initializer
     * listed as input is only a default the caller may override).
     *
     * @return the constant tensor, or null
     */
    public Tensor constant() {
        return initializerFlag && !graphInput ? initializer : null;
    }

    /**
     * Points every use of this value at {@code replacement}. Graph outputs are not repointed: a
     * graph output names a value the caller sees, so moving it is a separate, explicit decision
     * ({@link Graph#replaceOutput}).
     *
     * @param replacement the value to use instead
     */
    public void replaceAllUsesWith(Value replacement) {
        if (replacement == this) {
            return;
        }
        for (Use u : List.copyOf(uses)) {
            u.node().setInput(u.inputIndex(), replacement);
        }
    }

    @Override
    public String toString() {
        return "Value[" + name + "]";
    }
}
