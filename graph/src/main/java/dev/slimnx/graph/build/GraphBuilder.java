package dev.slimnx.graph.build;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Builds small models in code, for tests and for passes that assemble new graphs (gradient graphs,
 * calibration copies).
 *
 * <pre>{@code
 * GraphBuilder b = new GraphBuilder(17);
 * Value x = b.input("x", DataType.FLOAT, "batch", 8);
 * Value w = b.initializer(b.randomFloats("w", 8, 4));
 * Value y = b.op("MatMul", x, w);
 * b.output(y);
 * Model m = b.build();
 * }</pre>
 */
public final class GraphBuilder {
    private final Graph graph = new Graph();
    private final long opset;
    private final Random random;

    /**
     * @param opset ONNX opset version to import
     */
    public GraphBuilder(long opset) {
        this(opset, 42);
    }

    /**
     * @param opset ONNX opset version to import
     * @param seed seed of {@link #randomFloats}
     */
    public GraphBuilder(long opset, long seed) {
        this.opset = opset;
        this.random = new Random(seed);
        graph.setName("graph");
    }

    /** @return the graph being built */
    public Graph graph() {
        return graph;
    }

    /**
     * @param dims each a Number (known size), a String (symbolic) or null (unknown)
     * @return the shape
     */
    public static Shape shape(Object... dims) {
        List<Dim> out = new ArrayList<>();
        for (Object d : dims) {
            out.add(switch (d) {
                case null -> Dim.unknown();
                case Number n -> Dim.of(n.longValue());
                case String s -> Dim.symbolic(s);
                default -> throw new IllegalArgumentException("dim must be a number, a string or null: " + d);
            });
        }
        return Shape.of(out);
    }

    /**
     * @param name input name
     * @param type element type
     * @param dims see {@link #shape}
     * @return the new graph input
     */
    public Value input(String name, DataType type, Object... dims) {
        Value v = new Value(name, ValueType.TensorType.of(type, shape(dims)));
        graph.addInput(v);
        return v;
    }

    /**
     * @param tensor constant data; its name names the value
     * @return the initializer value
     */
    public Value initializer(Tensor tensor) {
        Value v = graph.addInitializer(tensor);
        v.setType(ValueType.TensorType.of(tensor.dataType(), tensor.shape()));
        return v;
    }

    /**
     * @param name tensor name
     * @param dims dims
     * @return a FLOAT tensor of uniform values in [-1, 1) from this builder's seeded generator
     */
    public Tensor randomFloats(String name, long... dims) {
        float[] data = new float[Math.toIntExact(Tensor.elementCount(dims))];
        for (int i = 0; i < data.length; i++) {
            data[i] = random.nextFloat() * 2 - 1;
        }
        return Tensor.ofFloats(name, dims, data);
    }

    /**
     * Adds a node with one output.
     *
     * @param opType ONNX op type (default domain)
     * @param inputs inputs; null for an omitted optional input
     * @return the output
     */
    public Value op(String opType, Value... inputs) {
        return node(opType, inputs).build().get(0);
    }

    /**
     * @param opType ONNX op type (default domain)
     * @param inputs inputs
     * @return a node under construction
     */
    public NodeSpec node(String opType, Value... inputs) {
        return new NodeSpec("", opType, Arrays.asList(inputs));
    }

    /**
     * @param value made a graph output
     * @return the value
     */
    public Value output(Value value) {
        graph.addOutput(value);
        return value;
    }

    /**
     * @param value made a graph output, with a declared type
     * @param type element type
     * @param dims see {@link #shape}
     * @return the value
     */
    public Value output(Value value, DataType type, Object... dims) {
        value.setType(ValueType.TensorType.of(type, shape(dims)));
        return output(value);
    }

    /** @return the model (IR version 8 for opset 17 and below, 10 above), importing the default domain */
    public Model build() {
        Model m = new Model(opset <= 17 ? 8 : 10, graph);
        m.opsetImports().add(OpsetId.of("", opset));
        m.setProducerName("slimnx-graphbuilder");
        return m;
    }

    /** A node being described: attributes, output count, domain. */
    public final class NodeSpec {
        private final String opType;
        private final List<Value> inputs;
        private final List<Attribute> attributes = new ArrayList<>();
        private String domain;
        private int outputs = 1;
        private String name;

        private NodeSpec(String domain, String opType, List<Value> inputs) {
            this.domain = domain;
            this.opType = opType;
            this.inputs = new ArrayList<>(inputs);
        }

        /** @return this, with an INT or INTS attribute ({@code values.length != 1} gives INTS) */
        public NodeSpec attr(String attrName, long... values) {
            attributes.add(values.length == 1 ? Attribute.ofInt(attrName, values[0]) : Attribute.ofInts(attrName, values));
            return this;
        }

        /**
         * @return this, with an INT attribute. NOTE: without this overload {@code attr("axis", 1)}
         *     resolves to the FLOAT overload (widening beats varargs) and makes a FLOAT attribute.
         */
        public NodeSpec attr(String attrName, long value) {
            attributes.add(Attribute.ofInt(attrName, value));
            return this;
        }

        /** @return this, with an INTS attribute even for one value */
        public NodeSpec ints(String attrName, long... values) {
            attributes.add(Attribute.ofInts(attrName, values));
            return this;
        }

        /** @return this, with a FLOAT attribute */
        public NodeSpec attr(String attrName, float value) {
            attributes.add(Attribute.ofFloat(attrName, value));
            return this;
        }

        /** @return this, with a STRING attribute */
        public NodeSpec attr(String attrName, String value) {
            attributes.add(Attribute.ofString(attrName, value));
            return this;
        }

        /** @return this, with any attribute */
        public NodeSpec attr(Attribute attribute) {
            attributes.add(attribute);
            return this;
        }

        /** @return this, in another domain */
        public NodeSpec domain(String nodeDomain) {
            this.domain = nodeDomain;
            return this;
        }

        /** @return this, with a node name */
        public NodeSpec name(String nodeName) {
            this.name = nodeName;
            return this;
        }

        /** @return this, with {@code count} outputs */
        public NodeSpec outputs(int count) {
            this.outputs = count;
            return this;
        }

        /** @return the outputs of the added node */
        public List<Value> build() {
            String base = name != null ? name : graph.names().fresh(opType.toLowerCase());
            List<Value> outs = new ArrayList<>();
            for (int i = 0; i < outputs; i++) {
                outs.add(new Value(graph.names().fresh(base + "_out" + i)));
            }
            Node n = new Node(domain, opType, inputs, outs, attributes);
            n.setName(base);
            graph.addNode(n);
            return outs;
        }

        /** @return the single output of the added node */
        public Value value() {
            return build().get(0);
        }
    }
}
