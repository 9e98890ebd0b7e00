package dev.slimnx.passes.quant;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes QuantizeLinear / DequantizeLinear nodes and quantized constants into a graph, one pair per
 * activation value and one DequantizeLinear per quantized constant, however many nodes read them.
 *
 * <p>NOTE: new values and constants get short names from the graph's name generator
 * ({@code x3_q}, {@code x3_dq}, {@code x3_scale}, {@code x3_zp} for the fourth activation,
 * {@code w…}, {@code b…} for weights and biases) and the new nodes none: on small models the text
 * of the graph is much of the file once the weights shrink, and a name derived from PyTorch's
 * ({@code /blocks.0/attn/qkv/MatMul_output_0_scale}) would be written three times per constant.
 */
final class QdqEditor {
    private final Graph graph;
    private final DataType activationType;
    private final Map<Value, Pair> pairs = new IdentityHashMap<>();
    private final Map<WeightKey, Value> weights = new LinkedHashMap<>();
    /** Zeros of int8 by channel count, −1 for a scalar: one tensor for every weight of that size. */
    private final Map<Integer, Value> weightZeroPoints = new HashMap<>();
    private long floatBytes;
    private long quantizedBytes;
    private int activationCount;
    private int weightCount;
    private int biasCount;

    /** A QuantizeLinear and the DequantizeLinear reading it. */
    private record Pair(Node quantize, Value dequantized) {
    }

    /** A weight quantized along one axis (a weight read by two sites along different axes is stored twice). */
    private record WeightKey(Value weight, int axis) {
    }

    /**
     * @param graph the graph edited
     * @param activationType UINT8 or INT8
     */
    QdqEditor(Graph graph, DataType activationType) {
        this.graph = graph;
        this.activationType = activationType;
    }

    /** @return bytes of the float constants quantized so far */
    long floatBytes() {
        return floatBytes;
    }

    /** @return bytes of the quantized constants, scales and zero points written so far */
    long quantizedBytes() {
        return quantizedBytes;
    }

    /**
     * The DequantizeLinear output standing for {@code v}: made on first request, right after
     * {@code v}'s producer (or at the top of the graph for a graph input), with a scalar scale and
     * zero point shared by both nodes. Nothing reads it until the caller points uses at it.
     *
     * @param v a float activation
     * @param affine its per-tensor scale and zero point
     * @return the dequantized value
     */
    Value dequantized(Value v, QuantMath.Affine affine) {
        Pair p = pairs.get(v);
        if (p != null) {
            return p.dequantized();
        }
        String base = graph.names().fresh("x" + activationCount++);
        Value scale = GraphEdits.addConstant(graph, base + "_scale", Tensor.ofFloats("", new long[0], affine.scale()));
        Value zero = GraphEdits.addConstant(graph, base + "_zp",
                Tensor.ofIntegers("", activationType, new long[0], affine.zeroPoint()));
        Shape shape = v.shape();
        Value q = new Value(graph.names().fresh(base + "_q"), ValueType.TensorType.of(activationType, shape));
        Value dq = new Value(graph.names().fresh(base + "_dq"), ValueType.TensorType.of(DataType.FLOAT, shape));
        Node quantize = new Node("", "QuantizeLinear", List.of(v, scale, zero), List.of(q), List.of());
        Node dequantize = new Node("", "DequantizeLinear", List.of(q, scale, zero), List.of(dq), List.of());
        if (v.producer() != null) {
            graph.insertAfter(v.producer(), quantize);
        } else {
            graph.insertBefore(graph.nodes().get(0), quantize);
        }
        graph.insertAfter(quantize, dequantize);
        pairs.put(v, new Pair(quantize, dq));
        return dq;
    }

    /**
     * Points every reader of {@code v} but its QuantizeLinear at the dequantized value, so that the
     * producer's only reader is the QuantizeLinear (what ONNX Runtime's fusion asks). A graph output
     * keeps naming {@code v}.
     *
     * @param v a value {@link #dequantized} was asked for
     */
    void routeAllReadersThroughPair(Value v) {
        Pair p = pairs.get(v);
        for (Use u : List.copyOf(v.uses())) {
            if (u.node() != p.quantize()) {
                u.node().setInput(u.inputIndex(), p.dequantized());
            }
        }
    }

    /**
     * The DequantizeLinear output standing for a constant weight: symmetric int8 values with zero
     * point 0, one scale per channel along {@code axis} (or one for the whole tensor when
     * {@code axis < 0}).
     *
     * @param weight the float constant
     * @param data its values
     * @param q the quantized values and scales ({@link QuantMath#symmetricPerChannel})
     * @param axis the channel axis, or −1 for per-tensor
     * @param before the node the DequantizeLinear is inserted before (the first reader)
     * @return the dequantized weight
     */
    Value dequantizedWeight(Value weight, Tensor data, QuantMath.PerChannel q, int axis, Node before) {
        WeightKey key = new WeightKey(weight, axis);
        Value known = weights.get(key);
        if (known != null) {
            return known;
        }
        String base = graph.names().fresh("w" + weightCount++);
        long[] scaleDims = axis < 0 ? new long[0] : new long[] {q.scales().length};
        Value values = GraphEdits.addConstant(graph, base + "_q",
                Tensor.ofRaw("", DataType.INT8, data.dims(), java.nio.ByteBuffer.wrap(q.values())));
        Value scale = GraphEdits.addConstant(graph, base + "_scale", Tensor.ofFloats("", scaleDims, q.scales()));
        // NOTE: the zero points are all 0, which is also DequantizeLinear's default, but ONNX Runtime's
        // QGemm fusion fails at run time on a per-channel weight without them (1.23.2). Weights with
        // as many channels share one tensor of zeros.
        int channels = q.scales().length;
        int zeroKey = axis < 0 ? -1 : channels;
        Value zero = weightZeroPoints.get(zeroKey);
        if (zero == null) {
            zero = GraphEdits.addConstant(graph, graph.names().fresh("w_zp" + (axis < 0 ? "" : channels)),
                    Tensor.ofIntegers("", DataType.INT8, scaleDims, new long[channels]));
            weightZeroPoints.put(zeroKey, zero);
            quantizedBytes += channels;
        }
        Value dq = dequantize(base, values, scale, zero, axis, data.dims(), before);
        floatBytes += data.byteSize();
        quantizedBytes += q.values().length + 4L * channels;
        weights.put(key, dq);
        return dq;
    }

    /**
     * The DequantizeLinear output standing for a bias: int32 values with zero point 0 and the scale
     * {@code inputScale · weightScale[c]} of each channel, the scale of the accumulator of an
     * integer MatMul or Conv, so that ONNX Runtime adds it to the accumulator as it is.
     *
     * @param bias the float constant (its values flattened to one per channel)
     * @param values the int32 values
     * @param scales one per channel, or one
     * @param before the node the DequantizeLinear is inserted before
     * @return the dequantized bias, shape [channels]
     */
    Value dequantizedBias(Value bias, int[] values, float[] scales, Node before) {
        String base = graph.names().fresh("b" + biasCount++);
        long[] dims = {values.length};
        long[] longs = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            longs[i] = values[i];
        }
        Value q = GraphEdits.addConstant(graph, base + "_q", Tensor.ofIntegers("", DataType.INT32, dims, longs));
        long[] scaleDims = scales.length == 1 ? new long[0] : dims;
        Value scale = GraphEdits.addConstant(graph, base + "_scale", Tensor.ofFloats("", scaleDims, scales));
        Value dq = dequantize(base, q, scale, null, scales.length == 1 ? -1 : 0, dims, before);
        Tensor original = GraphEdits.constant(bias);
        floatBytes += original == null ? 0 : original.byteSize();
        quantizedBytes += 4L * values.length + 4L * scales.length;
        return dq;
    }

    /** A DequantizeLinear; a null zero point is left out (0 of the values' type, as ONNX defines). */
    private Value dequantize(String base, Value values, Value scale, Value zero, int axis, long[] dims, Node before) {
        Value dq = new Value(graph.names().fresh(base + "_dq"), ValueType.TensorType.of(DataType.FLOAT, Shape.of(dims)));
        List<Value> inputs = zero == null ? List.of(values, scale) : List.of(values, scale, zero);
        // NOTE: axis 1 is DequantizeLinear's default, so a MatMul weight's per-column scales need no attribute.
        List<Attribute> attrs = axis < 0 || axis == 1 ? List.of() : List.of(Attribute.ofInt("axis", axis));
        Node n = new Node("", "DequantizeLinear", inputs, List.of(dq), attrs);
        graph.insertBefore(before, n);
        return dq;
    }
}
