package dev.slimnx.graph.stats;

import dev.slimnx.graph.ConstantNode;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Size and compute of a model: what the validator reports next to accuracy, and what a pruning or
 * quantization recipe is judged against.
 *
 * <ul>
 *   <li>Parameters: every element of every initializer (dense, in all graphs) and of every
 *       {@code Constant} node's value, string tensors excepted; shape constants count too, so that
 *       the number is simply "what the file stores", and turning a Constant node into an
 *       initializer (as constant folding does) leaves it unchanged.
 *       {@link #weightCount()} counts only floating-point initializers, the trainable weights.</li>
 *   <li>Bytes: the raw size of the initializers and Constant values, in total and per element type.</li>
 *   <li>MACs: per node and in total, see {@link MacCounter} for the formulas. Shapes come from
 *       {@link ShapeInference#inferWithFixedInputDims} with every dynamic input dim (batch) taken
 *       as 1; {@link #dynamicDims()} lists the dims that were.</li>
 * </ul>
 */
public final class ModelStats {
    private static final int LARGEST = 10;

    private long parameterCount;
    private long weightCount;
    private long initializerBytes;
    private final Map<DataType, Long> parametersByType = new EnumMap<>(DataType.class);
    private final Map<DataType, Long> bytesByType = new EnumMap<>(DataType.class);
    private final List<NodeMacs> nodeMacs = new ArrayList<>();
    private long totalMacs;
    private final List<DynamicDim> dynamicDims = new ArrayList<>();
    private final Map<String, Integer> opHistogram = new TreeMap<>();
    private final List<TensorSize> tensors = new ArrayList<>();

    private ModelStats() {
    }

    /**
     * @param model the model; it is not changed
     * @return its statistics
     */
    public static ModelStats of(Model model) {
        ModelStats s = new ModelStats();
        for (Value in : model.graph().inputs()) {
            if (in.type() instanceof ValueType.TensorType t && t.shape() != null) {
                Shape shape = t.shape();
                for (int k = 0; k < shape.rank(); k++) {
                    Dim d = shape.dim(k);
                    if (!d.isKnown()) {
                        s.dynamicDims.add(new DynamicDim(in.name(), k, d.isSymbolic() ? d.param() : ""));
                    }
                }
            }
        }
        InferenceResult shapes = ShapeInference.inferWithFixedInputDims(model, 1);
        s.walk(model.graph(), new MacCounter(shapes));
        s.tensors.sort(Comparator.comparingLong(TensorSize::bytes).reversed().thenComparing(TensorSize::name));
        return s;
    }

    private void walk(Graph g, MacCounter counter) {
        for (Value v : g.initializers()) {
            addInitializer(v.initializer());
        }
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            opHistogram.merge(n.isOnnxDomain() ? n.opType() : n.domain() + ":" + n.opType(), 1, Integer::sum);
            Tensor constant = ConstantNode.valueOf(n);
            if (constant != null) {
                addInitializer(constant);
            }
            long macs = counter.count(n);
            if (macs >= 0) {
                nodeMacs.add(new NodeMacs(g.name(), i, n.opType(), n.name(), macs, counter.lastWasExact()));
                totalMacs = Math.addExact(totalMacs, macs);
            }
            for (Graph sub : n.subgraphs()) {
                walk(sub, counter);
            }
        }
    }

    private void addInitializer(Tensor t) {
        DataType type = t.dataType();
        long n = t.numElements();
        long bytes = t.byteSize();
        if (type != DataType.STRING) {
            parameterCount += n;
            parametersByType.merge(type, n, Long::sum);
        }
        if (type.isFloatingPoint()) {
            weightCount += n;
        }
        initializerBytes += bytes;
        bytesByType.merge(type, bytes, Long::sum);
        tensors.add(new TensorSize(t.name(), type, t.dims(), bytes));
    }

    /** @return elements of all initializers (string tensors excepted) */
    public long parameterCount() {
        return parameterCount;
    }

    /** @return elements of floating-point initializers: the weights */
    public long weightCount() {
        return weightCount;
    }

    /** @return initializer elements per element type */
    public Map<DataType, Long> parametersByType() {
        return Collections.unmodifiableMap(parametersByType);
    }

    /** @return raw bytes of all initializers */
    public long initializerBytes() {
        return initializerBytes;
    }

    /** @return raw initializer bytes per element type */
    public Map<DataType, Long> bytesByType() {
        return Collections.unmodifiableMap(bytesByType);
    }

    /** @return MACs of every counted node (Conv, ConvTranspose, MatMul, Gemm, Einsum and their quantized forms) */
    public List<NodeMacs> nodeMacs() {
        return Collections.unmodifiableList(nodeMacs);
    }

    /** @return total MACs for one run with dynamic dims taken as 1 */
    public long totalMacs() {
        return totalMacs;
    }

    /** @return true when every counted node had all the dims it needed */
    public boolean macsExact() {
        return nodeMacs.stream().allMatch(NodeMacs::exact);
    }

    /** @return true when some input dim was dynamic and taken as 1 for the MAC count */
    public boolean dynamicDimsTakenAsOne() {
        return !dynamicDims.isEmpty();
    }

    /**
     * A dynamic input dim, taken as 1 for the MAC count.
     *
     * @param input the graph input
     * @param axis the axis
     * @param symbol its symbol, empty for an unnamed unknown dim
     */
    public record DynamicDim(String input, int axis, String symbol) {
        @Override
        public String toString() {
            return input + "[" + axis + "]" + (symbol.isEmpty() ? "" : " (" + symbol + ")");
        }
    }

    /** @return the dynamic input dims taken as 1 */
    public List<DynamicDim> dynamicDims() {
        return Collections.unmodifiableList(dynamicDims);
    }

    /** @return nodes in the model, those inside subgraphs included (the sum of {@link #opHistogram()}) */
    public int nodeCount() {
        return opHistogram.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** @return op counts by op type ({@code domain:Op} outside the default domain), most frequent first */
    public Map<String, Integer> opHistogram() {
        Map<String, Integer> out = new LinkedHashMap<>();
        opHistogram.entrySet().stream()
                .sorted(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()))
                .forEach(e -> out.put(e.getKey(), e.getValue()));
        return out;
    }

    /** @return the ten largest initializers by bytes, largest first */
    public List<TensorSize> largestTensors() {
        return List.copyOf(tensors.subList(0, Math.min(LARGEST, tensors.size())));
    }
}
