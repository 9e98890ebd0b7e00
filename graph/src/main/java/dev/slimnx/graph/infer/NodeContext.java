package dev.slimnx.graph.infer;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link ShapeRule} sees of one node: the types and known values of its inputs, its
 * attributes and the opset in force; and where it puts what it infers.
 */
final class NodeContext {
    /** Integer constants longer than this are not turned into {@link IntVector}s. */
    static final int MAX_VECTOR = 64;

    private final ShapeInference.Run run;
    private final Node node;
    private final long opset;
    final ValueType[] outputTypes;
    final IntVector[] outputValues;

    NodeContext(ShapeInference.Run run, Node node, long opset) {
        this.run = run;
        this.node = node;
        this.opset = opset;
        this.outputTypes = new ValueType[node.outputs().size()];
        this.outputValues = new IntVector[node.outputs().size()];
    }

    Node node() {
        return node;
    }

    ShapeInference.Run run() {
        return run;
    }

    /** @return the version of the node's domain the model imports */
    long opset() {
        return opset;
    }

    int inputCount() {
        return node.inputs().size();
    }

    int outputCount() {
        return node.outputs().size();
    }

    /** @return true if input {@code i} is given (not omitted) */
    boolean has(int i) {
        return i < node.inputs().size() && node.input(i) != null;
    }

    Value input(int i) {
        return has(i) ? node.input(i) : null;
    }

    ValueType type(int i) {
        return has(i) ? run.typeOf(node.input(i)) : null;
    }

    /** @return the element type of input {@code i}, or null when unknown */
    DataType elemType(int i) {
        return type(i) instanceof ValueType.TensorType t && t.elemType() != DataType.UNDEFINED ? t.elemType() : null;
    }

    /** @return the shape of input {@code i}, or null when its rank is unknown */
    Shape shape(int i) {
        return type(i) instanceof ValueType.TensorType t ? t.shape() : null;
    }

    /** @return the rank of input {@code i}, or -1 */
    int rank(int i) {
        Shape s = shape(i);
        return s == null ? -1 : s.rank();
    }

    /** @return the constant data of input {@code i} (initializer or Constant node), or null */
    Tensor constant(int i) {
        return has(i) ? run.constantOf(node.input(i)) : null;
    }

    /** @return the value of input {@code i} as an integer vector, or null when not known */
    IntVector ints(int i) {
        return has(i) ? run.intsOf(node.input(i)) : null;
    }

    /** @return the fully known integer values of input {@code i}, or null */
    long[] longs(int i) {
        IntVector v = ints(i);
        return v != null && v.isKnown() ? v.longs() : null;
    }

    /** @return the float values of a constant input, or null */
    float[] floats(int i) {
        Tensor t = constant(i);
        if (t == null || t.dataType() == DataType.STRING || t.numElements() > 4096) {
            return null;
        }
        return t.toFloatArray();
    }

    Attribute attr(String name) {
        return node.attribute(name);
    }

    long intAttr(String name, long defaultValue) {
        return node.intAttr(name, defaultValue);
    }

    float floatAttr(String name, float defaultValue) {
        return node.floatAttr(name, defaultValue);
    }

    /** @return the INTS attribute, or null */
    long[] intsAttr(String name) {
        return node.intsAttr(name);
    }

    String stringAttr(String name, String defaultValue) {
        return node.stringAttr(name, defaultValue);
    }

    /**
     * @param i output slot
     * @param elemType element type, or null when unknown
     * @param shape shape, or null when the rank is unknown
     */
    void set(int i, DataType elemType, Shape shape) {
        if (i >= outputTypes.length || node.output(i).name().isEmpty()) {
            return;
        }
        if (elemType == null && shape == null) {
            return;
        }
        outputTypes[i] = ValueType.TensorType.of(elemType == null ? DataType.UNDEFINED : elemType, shape);
    }

    /** Sets output 0 to a tensor of that element type and shape. */
    void set(DataType elemType, Shape shape) {
        set(0, elemType, shape);
    }

    /** Sets output {@code i} to any type (sequences, optionals). */
    void setType(int i, ValueType type) {
        if (i < outputTypes.length && !node.output(i).name().isEmpty()) {
            outputTypes[i] = type;
        }
    }

    /** Records the known integer value of output {@code i}. */
    void setInts(int i, IntVector value) {
        if (i < outputValues.length && value != null) {
            outputValues[i] = value;
        }
    }

    /** @return a 1-D shape with that dim */
    static Shape vector(Dim d) {
        return Shape.of(List.of(d));
    }

    /** @return a copy of the dims as a mutable list */
    static List<Dim> dims(Shape s) {
        return new ArrayList<>(s.dims());
    }
}
