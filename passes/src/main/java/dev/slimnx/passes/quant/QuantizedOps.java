package dev.slimnx.passes.quant;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.passes.PassRefusedException;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Recognises a model that is already quantized, so that a quantization pass can refuse it instead of
 * quantizing twice (re-quantizing int8 weights as if they were float, or wrapping a
 * {@code DequantizeLinear} in another pair).
 *
 * <p>A model counts as quantized when any graph (subgraphs included) holds one of: the ONNX ops
 * {@code QuantizeLinear}, {@code DequantizeLinear}, {@code DynamicQuantizeLinear},
 * {@code MatMulInteger}, {@code ConvInteger} or any {@code QLinear*} op; or ONNX Runtime's
 * {@code com.microsoft} ops that carry quantized weights or activations ({@code QLinear*},
 * {@code DynamicQuantizeMatMul}, {@code MatMulIntegerToFloat}, {@code MatMulNBits},
 * {@code MatMulBnb4}, {@code MatMulFpQ4}, {@code QGemm}, {@code QAttention}, {@code QOrdered*},
 * {@code DynamicQuantizeLSTM}, {@code GatherBlockQuantized}, {@code QuantizeLinear},
 * {@code DequantizeLinear}). A float16 model is not "quantized" in this sense.
 */
public final class QuantizedOps {
    private static final Set<String> ONNX = Set.of("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
            "MatMulInteger", "ConvInteger");
    private static final Set<String> MICROSOFT = Set.of("DynamicQuantizeMatMul", "MatMulIntegerToFloat",
            "MatMulNBits", "MatMulBnb4", "MatMulFpQ4", "QGemm", "QAttention", "DynamicQuantizeLSTM",
            "GatherBlockQuantized", "QuantizeLinear", "DequantizeLinear");

    private QuantizedOps() {
    }

    /**
     * @param node a node
     * @return true when it computes on quantized values (see the class comment)
     */
    public static boolean isQuantized(Node node) {
        String op = node.opType();
        if (node.isOnnxDomain()) {
            return ONNX.contains(op) || op.startsWith("QLinear");
        }
        return node.domain().equals("com.microsoft")
                && (MICROSOFT.contains(op) || op.startsWith("QLinear") || op.startsWith("QOrdered"));
    }

    /**
     * @param model a model
     * @return the op types of its quantized nodes (subgraphs included), in the order first met;
     *     empty when there are none
     */
    public static Set<String> find(Model model) {
        Set<String> found = new LinkedHashSet<>();
        collect(model.graph(), found);
        return found;
    }

    private static void collect(Graph g, Set<String> found) {
        for (Node n : g.nodes()) {
            if (isQuantized(n)) {
                found.add(n.opType());
            }
            for (Graph sub : n.subgraphs()) {
                collect(sub, found);
            }
        }
    }

    /**
     * What a quantization pass's {@code requires} calls.
     *
     * @param passId the pass asking
     * @param model the model about to be quantized
     * @throws PassRefusedException naming the quantized op types when the model has any
     */
    public static void refuseQuantized(String passId, Model model) {
        Set<String> found = find(model);
        if (!found.isEmpty()) {
            throw new PassRefusedException(passId, "model is already quantized (has " + String.join(", ", found)
                    + " nodes)");
        }
    }

    /**
     * Parses a comma-separated option value ({@code "MatMul, Gemm"}) into names, blanks dropped.
     *
     * @param csv the option text, possibly empty
     * @return the names, in order
     */
    static Set<String> names(String csv) {
        Set<String> out = new LinkedHashSet<>();
        for (String part : csv.split(",")) {
            String name = part.strip();
            if (!name.isEmpty()) {
                out.add(name);
            }
        }
        return out;
    }

    /**
     * @param node a node
     * @param excluded node names and op types
     * @return true when the node's name or op type is listed
     */
    static boolean isExcluded(Node node, Set<String> excluded) {
        return excluded.contains(node.opType()) || (!node.name().isEmpty() && excluded.contains(node.name()));
    }
}
