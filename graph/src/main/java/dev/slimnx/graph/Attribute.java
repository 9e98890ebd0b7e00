package dev.slimnx.graph;

import dev.slimnx.graph.tensor.OpaqueFields;
import dev.slimnx.graph.tensor.SparseTensor;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A named node attribute. Immutable; replace it on the node to change it. Subgraph attributes own
 * their {@link Graph}s, which are mutable like every graph.
 *
 * <p>{@code typeCode} is the {@code type} field as the file had it (0 in IR version 1 files, where
 * the kind is inferred from the field that is set); {@code kind} is what the value is.
 */
public final class Attribute {
    private final String name;
    private final AttributeType kind;
    private final int typeCode;
    private final Object value;
    private final String refAttrName;
    private final String docString;
    private final OpaqueFields extra;

    /**
     * @param name attribute name
     * @param kind what the value is
     * @param typeCode the {@code type} code to write
     * @param value the value in the form {@link #value()} documents; null for a reference
     * @param refAttrName name of the function attribute this refers to, empty when none
     * @param docString documentation
     * @param extra uninterpreted fields
     */
    public Attribute(String name, AttributeType kind, int typeCode, Object value, String refAttrName,
                     String docString, OpaqueFields extra) {
        this.name = Objects.requireNonNull(name);
        this.kind = Objects.requireNonNull(kind);
        this.typeCode = typeCode;
        this.value = value;
        this.refAttrName = Objects.requireNonNull(refAttrName);
        this.docString = Objects.requireNonNull(docString);
        this.extra = Objects.requireNonNull(extra);
    }

    private static Attribute of(String name, AttributeType kind, Object value) {
        return new Attribute(name, kind, kind.code(), value, "", "", OpaqueFields.NONE);
    }

    /** @return an INT attribute */
    public static Attribute ofInt(String name, long value) {
        return of(name, AttributeType.INT, value);
    }

    /** @return a FLOAT attribute */
    public static Attribute ofFloat(String name, float value) {
        return of(name, AttributeType.FLOAT, value);
    }

    /** @return a STRING attribute (UTF-8) */
    public static Attribute ofString(String name, String value) {
        return of(name, AttributeType.STRING, value.getBytes(StandardCharsets.UTF_8));
    }

    /** @return an INTS attribute */
    public static Attribute ofInts(String name, long... values) {
        return of(name, AttributeType.INTS, values.clone());
    }

    /** @return a FLOATS attribute */
    public static Attribute ofFloats(String name, float... values) {
        return of(name, AttributeType.FLOATS, values.clone());
    }

    /** @return a STRINGS attribute (UTF-8) */
    public static Attribute ofStrings(String name, List<String> values) {
        List<byte[]> bytes = new ArrayList<>();
        for (String s : values) {
            bytes.add(s.getBytes(StandardCharsets.UTF_8));
        }
        return of(name, AttributeType.STRINGS, List.copyOf(bytes));
    }

    /** @return a TENSOR attribute */
    public static Attribute ofTensor(String name, Tensor value) {
        return of(name, AttributeType.TENSOR, value);
    }

    /** @return a GRAPH attribute; the graph becomes owned by the node it is set on */
    public static Attribute ofGraph(String name, Graph value) {
        return of(name, AttributeType.GRAPH, value);
    }

    public String name() {
        return name;
    }

    public AttributeType kind() {
        return kind;
    }

    /** @return the {@code type} code to write */
    public int typeCode() {
        return typeCode;
    }

    /**
     * @return the value: Float, Long, byte[] (STRING), Tensor, Graph, SparseTensor, ValueType,
     *     float[], long[], and lists of byte[], Tensor, Graph, SparseTensor or ValueType; null for a
     *     reference to a function attribute
     */
    public Object value() {
        return value;
    }

    /** @return the referenced function attribute, empty when none */
    public String refAttrName() {
        return refAttrName;
    }

    public String docString() {
        return docString;
    }

    public OpaqueFields extra() {
        return extra;
    }

    private <T> T expect(AttributeType want, Class<T> cls) {
        if (kind != want) {
            throw new IllegalStateException("attribute '" + name + "' is " + kind + ", not " + want);
        }
        return cls.cast(value);
    }

    /** @return the INT value */
    public long asInt() {
        return expect(AttributeType.INT, Long.class);
    }

    /** @return the FLOAT value */
    public float asFloat() {
        return expect(AttributeType.FLOAT, Float.class);
    }

    /** @return the STRING value decoded as UTF-8 */
    public String asString() {
        return new String(expect(AttributeType.STRING, byte[].class), StandardCharsets.UTF_8);
    }

    /** @return the INTS value (a copy) */
    public long[] asInts() {
        return expect(AttributeType.INTS, long[].class).clone();
    }

    /** @return the FLOATS value (a copy) */
    public float[] asFloats() {
        return expect(AttributeType.FLOATS, float[].class).clone();
    }

    /** @return the STRINGS value decoded as UTF-8 */
    public List<String> asStrings() {
        List<String> out = new ArrayList<>();
        for (Object o : expect(AttributeType.STRINGS, List.class)) {
            out.add(new String((byte[]) o, StandardCharsets.UTF_8));
        }
        return out;
    }

    /** @return the TENSOR value */
    public Tensor asTensor() {
        return expect(AttributeType.TENSOR, Tensor.class);
    }

    /** @return the GRAPH value */
    public Graph asGraph() {
        return expect(AttributeType.GRAPH, Graph.class);
    }

    /** @return the SPARSE_TENSOR value */
    public SparseTensor asSparseTensor() {
        return expect(AttributeType.SPARSE_TENSOR, SparseTensor.class);
    }

    /** @return the TYPE_PROTO value */
    public ValueType asType() {
        return expect(AttributeType.TYPE_PROTO, ValueType.class);
    }

    /** @return the subgraphs this attribute owns (GRAPH or GRAPHS), else empty */
    public List<Graph> subgraphs() {
        if (kind == AttributeType.GRAPH && value != null) {
            return List.of((Graph) value);
        }
        if (kind == AttributeType.GRAPHS && value != null) {
            List<Graph> out = new ArrayList<>();
            for (Object o : (List<?>) value) {
                out.add((Graph) o);
            }
            return out;
        }
        return List.of();
    }

    @Override
    public String toString() {
        return name + ":" + kind;
    }
}
