package dev.slimnx.graph;

import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.StringPair;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * An operator application. Its mutators are the only code that changes use-lists: setting an
 * input removes the use from the old value and adds one to the new, so a value's uses always list
 * exactly the node inputs that read it.
 *
 * <p>An omitted optional input is a {@code null} entry; an omitted optional output is a value
 * named {@code ""}.
 */
public final class Node {
    private String name;
    private String opType;
    private String domain;
    private String overload = "";
    private String docString = "";
    private List<StringPair> metadata = List.of();
    private List<OpaqueFields> deviceConfigurations = List.of();
    private OpaqueFields extra = OpaqueFields.NONE;
    private final List<Value> inputs = new ArrayList<>();
    private final List<Value> outputs = new ArrayList<>();
    private final List<Attribute> attributes = new ArrayList<>();
    Graph graph;

    /**
     * Creates a node that reads {@code inputs} and produces {@code outputs}. The node is not yet in
     * a graph; add it with {@link Graph#addNode} or one of the insert methods.
     *
     * @param domain operator domain, empty for the default ONNX domain
     * @param opType operator type
     * @param inputs input values, null for an omitted optional input
     * @param outputs fresh values with no producer
     * @param attributes attributes
     * @throws IllegalArgumentException if an output already has a producer
     */
    public Node(String domain, String opType, List<Value> inputs, List<Value> outputs, List<Attribute> attributes) {
        this.domain = Objects.requireNonNull(domain);
        this.opType = Objects.requireNonNull(opType);
        this.name = "";
        for (Value v : inputs) {
            addInput(v);
        }
        for (Value v : outputs) {
            addOutput(v);
        }
        for (Attribute a : attributes) {
            setAttribute(a);
        }
    }

    public String name() {
        return name;
    }

    public void setName(String name) {
        this.name = Objects.requireNonNull(name);
        if (graph != null) {
            graph.names().added(name); // a node not in a graph yet has its names gathered when added
        }
    }

    public String opType() {
        return opType;
    }

    public void setOpType(String opType) {
        this.opType = Objects.requireNonNull(opType);
    }

    /** @return the domain, empty for the default ONNX domain */
    public String domain() {
        return domain;
    }

    public void setDomain(String domain) {
        this.domain = Objects.requireNonNull(domain);
    }

    /** @return true if the op is in the default ONNX domain ({@code ""} or {@code ai.onnx}) */
    public boolean isOnnxDomain() {
        return domain.isEmpty() || domain.equals("ai.onnx");
    }

    /** @return true if this node is {@code opType} of the default ONNX domain */
    public boolean is(String onnxOpType) {
        return opType.equals(onnxOpType) && isOnnxDomain();
    }

    public String overload() {
        return overload;
    }

    public void setOverload(String overload) {
        this.overload = Objects.requireNonNull(overload);
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

    /** @return encoded {@code NodeDeviceConfigurationProto}s, kept for round trips */
    public List<OpaqueFields> deviceConfigurations() {
        return deviceConfigurations;
    }

    public void setDeviceConfigurations(List<OpaqueFields> configurations) {
        this.deviceConfigurations = List.copyOf(configurations);
    }

    public OpaqueFields extra() {
        return extra;
    }

    public void setExtra(OpaqueFields extra) {
        this.extra = Objects.requireNonNull(extra);
    }

    /** @return the graph this node is in, or null */
    public Graph graph() {
        return graph;
    }

    /** @return inputs (null entries for omitted optional inputs), unmodifiable */
    public List<Value> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    /**
     * @param i input slot
     * @return the input, or null if omitted or past the end
     */
    public Value input(int i) {
        return i < inputs.size() ? inputs.get(i) : null;
    }

    /** @return outputs, unmodifiable */
    public List<Value> outputs() {
        return Collections.unmodifiableList(outputs);
    }

    /**
     * @param i output slot
     * @return the output
     */
    public Value output(int i) {
        return outputs.get(i);
    }

    /**
     * @param index input slot
     * @param value the new input, or null to omit it
     */
    public void setInput(int index, Value value) {
        Value old = inputs.get(index);
        if (old == value) {
            return;
        }
        if (old != null) {
            old.removeUse(this, index);
        }
        inputs.set(index, value);
        if (value != null) {
            value.addUse(this, index);
        }
    }

    /** @param value appended input, or null for an omitted optional input */
    public void addInput(Value value) {
        inputs.add(value);
        if (value != null) {
            value.addUse(this, inputs.size() - 1);
        }
    }

    /** Removes the last input slot. */
    public void removeLastInput() {
        int last = inputs.size() - 1;
        Value v = inputs.remove(last);
        if (v != null) {
            v.removeUse(this, last);
        }
    }

    /**
     * @param value a fresh value with no producer
     * @throws IllegalArgumentException if it already has a producer or is a graph input/initializer
     */
    public void addOutput(Value value) {
        if (value.producer() != null || value.isGraphInput() || value.isInitializer()) {
            throw new IllegalArgumentException("value '" + value.name() + "' already has a producer");
        }
        value.setProducer(this, outputs.size());
        outputs.add(value);
        if (graph != null) {
            graph.names().added(value.name());
        }
    }

    /** Drops all uses this node makes, so the node can be discarded. Its outputs are left as they are. */
    void detachInputs() {
        for (int i = 0; i < inputs.size(); i++) {
            Value v = inputs.get(i);
            if (v != null) {
                v.removeUse(this, i);
            }
        }
    }

    /** @return attributes in file order, unmodifiable */
    public List<Attribute> attributes() {
        return Collections.unmodifiableList(attributes);
    }

    /**
     * @param attrName name
     * @return the attribute, or null
     */
    public Attribute attribute(String attrName) {
        for (Attribute a : attributes) {
            if (a.name().equals(attrName)) {
                return a;
            }
        }
        return null;
    }

    /** @return the INT attribute's value, or {@code defaultValue} when absent */
    public long intAttr(String attrName, long defaultValue) {
        Attribute a = attribute(attrName);
        return a == null ? defaultValue : a.asInt();
    }

    /** @return the FLOAT attribute's value, or {@code defaultValue} when absent */
    public float floatAttr(String attrName, float defaultValue) {
        Attribute a = attribute(attrName);
        return a == null ? defaultValue : a.asFloat();
    }

    /** @return the INTS attribute's value, or null when absent */
    public long[] intsAttr(String attrName) {
        Attribute a = attribute(attrName);
        return a == null ? null : a.asInts();
    }

    /** @return the STRING attribute's value, or {@code defaultValue} when absent */
    public String stringAttr(String attrName, String defaultValue) {
        Attribute a = attribute(attrName);
        return a == null ? defaultValue : a.asString();
    }

    /**
     * Sets an attribute, replacing one of the same name (in place, keeping its position). Subgraphs
     * of the attribute become owned by this node.
     *
     * @param attribute the attribute
     */
    public void setAttribute(Attribute attribute) {
        attributeChanging(attribute);
        for (Graph g : attribute.subgraphs()) {
            g.parentNode = this;
        }
        for (int i = 0; i < attributes.size(); i++) {
            if (attributes.get(i).name().equals(attribute.name())) {
                attributes.set(i, attribute);
                return;
            }
        }
        attributes.add(attribute);
    }

    /**
     * Names change with an attribute only through subgraphs: they move into this node's tree (and
     * a subgraph re-parented under a node not yet in a graph must not keep a cache of its old tree).
     */
    private void attributeChanging(Attribute attribute) {
        if (graph != null || !attribute.subgraphs().isEmpty()) {
            NameGenerator.changed();
        }
    }

    /**
     * Appends an attribute even if one of that name exists (files may repeat names; the reader
     * keeps them).
     *
     * @param attribute the attribute
     */
    public void appendAttribute(Attribute attribute) {
        attributeChanging(attribute);
        for (Graph g : attribute.subgraphs()) {
            g.parentNode = this;
        }
        attributes.add(attribute);
    }

    /**
     * @param attrName name
     * @return true if an attribute was removed
     */
    public boolean removeAttribute(String attrName) {
        return attributes.removeIf(a -> a.name().equals(attrName));
    }

    /** @return the subgraphs held by this node's attributes */
    public List<Graph> subgraphs() {
        List<Graph> out = new ArrayList<>();
        for (Attribute a : attributes) {
            out.addAll(a.subgraphs());
        }
        return out;
    }

    /** @return a short description for messages: {@code MatMul 'name'} */
    public String describe() {
        return (domain.isEmpty() ? "" : domain + ".") + opType + (name.isEmpty() ? "" : " '" + name + "'");
    }

    @Override
    public String toString() {
        return "Node[" + describe() + "]";
    }
}
