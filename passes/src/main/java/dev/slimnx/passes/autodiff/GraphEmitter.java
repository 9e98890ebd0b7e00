package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Appends the nodes of a backward graph (and of a loss) to the end of a graph, with fresh names and
 * in the form the model's default-domain opset asks for.
 *
 * <p>Appending keeps the graph topologically ordered: a backward node reads forward values (all
 * earlier) and backward values emitted before it. Small constants (axes, shapes, scalars) become
 * initializers named under {@code grad/}.
 *
 * <p>NOTE: the opset decides a few forms: {@code ReduceMean} takes its axes as an input from opset
 * 18 on and as an attribute before; {@code ReduceSum}, {@code Squeeze}, {@code Unsqueeze} and
 * {@code Split} take them as inputs from 13 on. The builder refuses models below opset 13, so only
 * the ReduceMean switch is needed here.
 */
public final class GraphEmitter {
    private final Graph graph;
    private final long opset;
    private String prefix = "grad";

    /**
     * @param graph the graph nodes are appended to
     * @param opset the default-domain opset version of the model (13 or more)
     */
    public GraphEmitter(Graph graph, long opset) {
        this.graph = Objects.requireNonNull(graph);
        this.opset = opset;
    }

    /** @return the default-domain opset version the nodes are written for */
    public long opset() {
        return opset;
    }

    /** @return the graph nodes are appended to */
    public Graph graph() {
        return graph;
    }

    /**
     * @param namePrefix prefix of the names of the nodes and values emitted from now on, e.g.
     *     {@code grad/blocks.0/attn/MatMul}
     */
    void setPrefix(String namePrefix) {
        this.prefix = namePrefix;
    }

    /**
     * Appends a node with one output.
     *
     * @param opType default-domain op type
     * @param inputs inputs (null for an omitted optional input)
     * @param attributes attributes
     * @return the output
     */
    public Value op(String opType, List<Value> inputs, Attribute... attributes) {
        return ops(opType, 1, inputs, attributes).get(0);
    }

    /**
     * Appends a node with one output.
     *
     * @param opType default-domain op type
     * @param inputs inputs
     * @return the output
     */
    public Value op(String opType, Value... inputs) {
        return op(opType, Arrays.asList(inputs));
    }

    /**
     * Appends a node with several outputs.
     *
     * @param opType default-domain op type
     * @param outputs number of outputs
     * @param inputs inputs
     * @param attributes attributes
     * @return the outputs
     */
    public List<Value> ops(String opType, int outputs, List<Value> inputs, Attribute... attributes) {
        String nodeName = graph.names().fresh(prefix + "/" + opType);
        List<Value> outs = new ArrayList<>(outputs);
        for (int i = 0; i < outputs; i++) {
            outs.add(new Value(graph.names().fresh(nodeName + "_output_" + i)));
        }
        Node n = new Node("", opType, inputs, outs, List.of(attributes));
        n.setName(nodeName);
        graph.addNode(n);
        return outs;
    }

    // ---- constants ----

    /**
     * @param values the values
     * @return a new 1-D INT64 initializer
     */
    public Value longs(long... values) {
        return constant(Tensor.ofLongs("", new long[] {values.length}, values));
    }

    /**
     * @param value the value
     * @return a new INT64 scalar initializer
     */
    public Value longScalar(long value) {
        return constant(Tensor.ofLongs("", new long[0], value));
    }

    /**
     * @param value the value
     * @param type FLOAT or DOUBLE (other floating types are rounded through float)
     * @return a new scalar initializer of that type
     */
    public Value scalar(double value, DataType type) {
        return constant(filled(type, new long[0], value));
    }

    /**
     * @param data any tensor (its name is ignored)
     * @return a new initializer holding it
     */
    public Value constant(Tensor data) {
        Value v = graph.addInitializer(data.withName(graph.names().fresh(prefix + "/const")));
        v.setType(dev.slimnx.graph.tensor.ValueType.TensorType.of(data.dataType(), data.shape()));
        return v;
    }

    /**
     * @param type FLOAT or DOUBLE
     * @param dims dims
     * @param value every element's value
     * @return a tensor filled with {@code value}
     */
    static Tensor filled(DataType type, long[] dims, double value) {
        int n = Math.toIntExact(Tensor.elementCount(dims));
        if (type == DataType.DOUBLE) {
            ByteBuffer buf = ByteBuffer.allocate(n * 8).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < n; i++) {
                buf.putDouble(value);
            }
            return Tensor.ofRaw("", type, dims, buf.flip());
        }
        if (type != DataType.FLOAT) {
            throw new IllegalArgumentException("constants of " + type + " are not supported; FLOAT or DOUBLE");
        }
        float[] data = new float[n];
        Arrays.fill(data, (float) value);
        return Tensor.ofFloats("", dims, data);
    }

    // ---- op forms ----

    /**
     * @param x a value
     * @param known what inference knows of its shape, or null
     * @return its shape as a 1-D INT64 value: a constant when {@code known} is static, else a
     *     {@code Shape} node
     */
    public Value shapeOf(Value x, Shape known) {
        if (known != null && known.isStatic()) {
            return longs(known.sizes());
        }
        return op("Shape", x);
    }

    /**
     * @param x a value
     * @param known what inference knows of its shape, or null
     * @return a Reshape target giving x's shape: a constant when at most one dim is not known
     *     (that one as -1, which Reshape infers: the batch, usually), else {@code Shape(x)}
     */
    public Value reshapeTargetOf(Value x, Shape known) {
        if (known != null) {
            long[] dims = new long[known.rank()];
            int unknown = 0;
            boolean empty = false;
            for (int i = 0; i < dims.length; i++) {
                Dim d = known.dim(i);
                dims[i] = d.isKnown() ? d.value() : -1;
                unknown += d.isKnown() ? 0 : 1;
                empty |= d.isKnown() && d.value() == 0;
            }
            // NOTE: -1 cannot be inferred next to a zero-size dim
            if (unknown <= 1 && !(empty && unknown == 1)) {
                return longs(dims);
            }
        }
        return op("Shape", x);
    }

    /**
     * @param x a value
     * @param known what inference knows of its shape (its rank at least)
     * @param from the first of x's axes to copy
     * @param leading the first entries of the result (-1 lets a Reshape infer that one)
     * @return the 1-D INT64 shape {@code leading ++ shape(x)[from:]}: one constant when those dims
     *     of x are known, else the constant part concatenated with a slice of {@code Shape(x)}
     */
    public Value shapeEndingLike(Value x, Shape known, int from, long... leading) {
        int rank = known.rank();
        long[] all = Arrays.copyOf(leading, leading.length + rank - from);
        boolean isStatic = true;
        for (int i = from; i < rank; i++) {
            Dim d = known.dim(i);
            isStatic &= d.isKnown();
            all[leading.length + i - from] = d.isKnown() ? d.value() : -1;
        }
        if (isStatic) {
            return longs(all);
        }
        Value tail = op("Slice", op("Shape", x), longs(from), longs(rank));
        return op("Concat", List.of(longs(leading), tail), Attribute.ofInt("axis", 0));
    }

    /**
     * @param x input
     * @param perm permutation
     * @return {@code Transpose(x, perm)}
     */
    public Value transpose(Value x, long... perm) {
        return op("Transpose", List.of(x), Attribute.ofInts("perm", perm));
    }

    /**
     * @param x input
     * @param shape target shape (1-D INT64)
     * @return {@code Reshape(x, shape)}
     */
    public Value reshape(Value x, Value shape) {
        return op("Reshape", x, shape);
    }

    /**
     * @param x input
     * @param axes axes to insert
     * @return {@code Unsqueeze(x, axes)}
     */
    public Value unsqueeze(Value x, long... axes) {
        return op("Unsqueeze", x, longs(axes));
    }

    /**
     * @param x input
     * @param axes axes to remove
     * @return {@code Squeeze(x, axes)}
     */
    public Value squeeze(Value x, long... axes) {
        return op("Squeeze", x, longs(axes));
    }

    /**
     * @param x input
     * @param axes axes to sum over; empty means none (the input comes back as it is)
     * @param keepdims whether the reduced axes stay as size 1
     * @return the sum
     */
    public Value reduceSum(Value x, long[] axes, boolean keepdims) {
        if (axes.length == 0) {
            return x;
        }
        return op("ReduceSum", List.of(x, longs(axes)), Attribute.ofInt("keepdims", keepdims ? 1 : 0));
    }

    /**
     * @param x input
     * @param axes a 1-D INT64 value of axes to sum over, computed at run time; may be empty
     * @return the sum with the reduced axes kept as size 1 (the input itself when {@code axes} is empty)
     */
    public Value reduceSumKeepDims(Value x, Value axes) {
        return op("ReduceSum", List.of(x, axes), Attribute.ofInt("keepdims", 1),
                Attribute.ofInt("noop_with_empty_axes", 1));
    }

    /**
     * @param x input
     * @param axes axes to average over (not empty)
     * @param keepdims whether the reduced axes stay as size 1
     * @return the mean
     */
    public Value reduceMean(Value x, long[] axes, boolean keepdims) {
        Attribute keep = Attribute.ofInt("keepdims", keepdims ? 1 : 0);
        if (opset >= 18) {
            return op("ReduceMean", List.of(x, longs(axes)), keep);
        }
        return op("ReduceMean", List.of(x), Attribute.ofInts("axes", axes), keep);
    }

    /**
     * @param x input
     * @param keepdims whether the reduced axes stay as size 1
     * @return the mean over every element
     */
    public Value reduceMeanAll(Value x, boolean keepdims) {
        return op("ReduceMean", List.of(x), Attribute.ofInt("keepdims", keepdims ? 1 : 0));
    }

    /**
     * @param x input of a floating type
     * @param to the target element type
     * @return {@code Cast(x, to)}
     */
    public Value cast(Value x, DataType to) {
        return op("Cast", List.of(x), Attribute.ofInt("to", to.code()));
    }

    /**
     * @param shape a 1-D INT64 value
     * @param type FLOAT or DOUBLE
     * @return zeros of that shape and type
     */
    public Value zeros(Value shape, DataType type) {
        return op("ConstantOfShape", List.of(shape), Attribute.ofTensor("value", filled(type, new long[] {1}, 0)));
    }

    /**
     * @param x a value
     * @param axis an axis (not negative)
     * @param dim what inference knows of that dim, or null
     * @return the size of {@code x} along {@code axis} as a 1-D INT64 value of one element: a
     *     constant when {@code dim} is known, else sliced from {@code Shape(x)} at run time
     */
    public Value sizeAlong(Value x, int axis, Dim dim) {
        if (dim != null && dim.isKnown()) {
            return longs(dim.value());
        }
        return op("Slice", op("Shape", x), longs(axis), longs(axis + 1L));
    }
}
