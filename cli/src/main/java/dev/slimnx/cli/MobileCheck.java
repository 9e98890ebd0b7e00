package dev.slimnx.cli;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * {@code export --check-mobile}: for each phone execution provider, which nodes of the main graph
 * its table ({@link MobileSupport}) lets it take, how many partitions that makes, and what would
 * fix the rest.
 *
 * <p>A node is taken when its op is in the table at the model's opset, input 0's element type is
 * one the provider has, the inputs the table wants constant are initializers, input 0's rank is
 * one the table allows, and (for providers that need them, which NNAPI and CoreML both do) every
 * input and output shape is static. Constant nodes are not counted: ONNX Runtime turns them into
 * initializers when it loads the model.
 *
 * <p>NOTE: partitions are counted as maximal runs of taken nodes in topological order. ONNX
 * Runtime's partitioner groups taken nodes by connectivity, so on graphs with parallel branches
 * it can make fewer; the count here is an upper bound that is exact for chains.
 */
final class MobileCheck {
    private static final Set<String> QOPERATOR = Set.of("QLinearConv", "QLinearMatMul", "QLinearAdd", "QLinearMul",
            "QLinearSigmoid", "QLinearAveragePool", "QLinearGlobalAveragePool", "QLinearLeakyRelu", "QLinearConcat",
            "MatMulInteger", "ConvInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul", "MatMulIntegerToFloat",
            "MatMulNBits", "QuantizeLinear", "DequantizeLinear");

    /** Table notes whose conditions the columns (constant inputs, ranks) already check in full. */
    private static final Set<String> CHECKED_NOTES = Set.of("Only 2D pool", "Only 2D conv; weights and bias constant",
            "Scales and zero points constant", "Axes input constant", "Only 1D/2D conv; bias constant", "Input B constant",
            "starts/ends/axes/steps constant", "splits constant if given", "Only 2D resize",
            "Only 2D conv; weights, bias, scales and zero points constant", "Only 2D pool; scales and zero points constant");

    private MobileCheck() {
    }

    /**
     * One node the provider does not take.
     *
     * @param node the node's name (or a description when it has none)
     * @param op the op type
     * @param reason why not, in a few words shared by nodes refused for the same reason
     * @param detail the value or condition concerned (empty when the reason says it all)
     * @param fix what would help
     */
    record Refusal(String node, String op, String reason, String detail, String fix) {
    }

    /**
     * One provider's verdict.
     *
     * @param support the provider's table
     * @param nodes nodes checked
     * @param taken nodes the provider takes
     * @param partitions runs of taken nodes in topological order
     * @param perOp by op type: [nodes, taken]
     * @param refusals the nodes not taken, in topological order
     * @param caveats by op taken: the table's condition that slimnx does not check (e.g. Clip's range)
     */
    record Verdict(MobileSupport support, int nodes, int taken, int partitions, Map<String, int[]> perOp,
                   List<Refusal> refusals, Map<String, String> caveats) {
    }

    /** @param verdicts one per provider asked */
    record Result(List<Verdict> verdicts) {
        void print(PrintWriter out) {
            for (Verdict v : verdicts) {
                out.printf(Locale.ROOT, "check-mobile %s (%s): %d of %d nodes taken (%.0f%%), %d partition%s%n",
                        v.support().id(), v.support().name(), v.taken(), v.nodes(),
                        v.nodes() == 0 ? 100.0 : 100.0 * v.taken() / v.nodes(), v.partitions(),
                        v.partitions() == 1 ? "" : "s");
                out.printf("  %-22s %6s %6s  %s%n", "op", "nodes", "taken", "why not -> fix");
                List<Map.Entry<String, int[]>> rows = new ArrayList<>(v.perOp().entrySet());
                // ops with nodes left out first, most left out first; then the rest in graph order
                rows.sort(java.util.Comparator.comparingInt(e -> e.getValue()[1] - e.getValue()[0]));
                for (Map.Entry<String, int[]> e : rows) {
                    String op = e.getKey();
                    int[] c = e.getValue();
                    Set<String> why = new LinkedHashSet<>();
                    v.refusals().stream().filter(r -> r.op().equals(op)).forEach(r -> why.add(r.reason() + " -> " + r.fix()));
                    out.printf("  %-22s %6d %6d  %s%n", op, c[0], c[1], String.join("; ", why));
                }
                v.caveats().forEach((op, note) -> out.printf("  caveat, not checked: %s: %s%n", op, note));
                out.println("  table: " + v.support().source());
            }
        }

        Map<String, Object> toJson() {
            List<Object> list = new ArrayList<>();
            for (Verdict v : verdicts) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("ep", v.support().id());
                m.put("name", v.support().name());
                m.put("source", v.support().source());
                m.put("static_shapes_required", v.support().staticShapesRequired());
                m.put("nodes", v.nodes());
                m.put("taken", v.taken());
                m.put("partitions", v.partitions());
                m.put("partitioning", "maximal runs of taken nodes in topological order");
                List<Object> ops = new ArrayList<>();
                v.perOp().forEach((op, c) -> ops.add(ordered("op", op, "nodes", c[0], "taken", c[1])));
                m.put("ops", ops);
                List<Object> refused = new ArrayList<>();
                for (Refusal r : v.refusals()) {
                    refused.add(ordered("node", r.node(), "op", r.op(), "reason", r.reason(), "detail", r.detail(),
                            "fix", r.fix()));
                }
                m.put("not_taken", refused);
                m.put("caveats_not_checked", v.caveats());
                list.add(m);
            }
            return Map.of("check_mobile", list);
        }

        private static Map<String, Object> ordered(Object... kv) {
            Map<String, Object> m = new LinkedHashMap<>();
            for (int i = 0; i < kv.length; i += 2) {
                m.put((String) kv[i], kv[i + 1]);
            }
            return m;
        }
    }

    /**
     * @param model the model as it would be exported (not changed)
     * @param providers the tables to check against
     * @return a verdict per provider
     */
    static Result run(Model model, List<MobileSupport> providers) {
        InferenceResult types = ShapeInference.infer(model);
        List<Node> nodes = model.graph().topologicalOrder().stream().filter(n -> !n.is("Constant")).toList();
        List<Verdict> verdicts = new ArrayList<>();
        for (MobileSupport s : providers) {
            Map<String, int[]> perOp = new LinkedHashMap<>();
            Map<String, String> caveats = new java.util.TreeMap<>();
            List<Refusal> refusals = new ArrayList<>();
            int taken = 0;
            int partitions = 0;
            boolean inRun = false;
            for (Node n : nodes) {
                String op = n.isOnnxDomain() ? n.opType() : n.domain() + ":" + n.opType();
                int[] c = perOp.computeIfAbsent(op, k -> new int[2]);
                c[0]++;
                Refusal r = check(model, types, s, n, op);
                if (r == null) {
                    MobileSupport.Rule rule = s.rules().get(n.isOnnxDomain() ? "ai.onnx:" + n.opType() : op);
                    if (!rule.note().isEmpty() && !CHECKED_NOTES.contains(rule.note())) {
                        caveats.put(op, rule.note());
                    }
                    c[1]++;
                    taken++;
                    if (!inRun) {
                        partitions++;
                    }
                    inRun = true;
                } else {
                    refusals.add(r);
                    inRun = false;
                }
            }
            verdicts.add(new Verdict(s, nodes.size(), taken, partitions, perOp, refusals, caveats));
        }
        return new Result(verdicts);
    }

    /** @return null when the provider takes the node, else why not and what would help */
    private static Refusal check(Model model, InferenceResult types, MobileSupport s, Node n, String op) {
        String name = n.name().isEmpty() ? n.describe() : n.name();
        String key = n.isOnnxDomain() ? "ai.onnx:" + n.opType() : n.domain() + ":" + n.opType();
        MobileSupport.Rule rule = s.rules().get(key);
        if (rule == null) {
            return new Refusal(name, op, "not in " + s.id() + "'s table", "", opFix(s, n.opType()));
        }
        long opset = model.opsetVersion(n.isOnnxDomain() ? "" : n.domain());
        if (opset < rule.since() || opset > rule.until()) {
            return new Refusal(name, op, "opset " + opset + " outside " + rule.since() + ".."
                    + (rule.until() == Integer.MAX_VALUE ? "" : rule.until()), "", "--target-opset " + rule.since());
        }
        Value in0 = n.inputs().isEmpty() ? null : n.input(0);
        if (in0 != null) {
            DataType t = types.elemTypeOf(in0);
            if (t != null && !s.types().contains(t.shortName())) {
                return new Refusal(name, op, "element type " + t.shortName(), "input '" + in0.name() + "'", typeFix(s, t));
            }
            Shape shape = types.shapeOf(in0);
            if (!rule.ranks().isEmpty() && shape != null && !rule.ranks().contains(shape.rank())) {
                return new Refusal(name, op, "input rank " + shape.rank() + " (takes " + rule.ranks() + ")",
                        "input '" + in0.name() + "' " + shape, "reshape to rank " + rule.ranks().get(rule.ranks().size() - 1) + " around it");
            }
        }
        for (int i : rule.constantInputs()) {
            if (i < n.inputs().size() && n.input(i) != null && !n.input(i).name().isEmpty() && !isConstant(n.input(i), s)) {
                Node producer = n.input(i).producer();
                String fix = producer != null && producer.is("DequantizeLinear")
                        ? opFix(s, "DequantizeLinear")
                        : "fold it into a constant (slimnx optimize)";
                return new Refusal(name, op, "input " + i + " is not constant", "input '" + n.input(i).name() + "'",
                        fix + (rule.note().isEmpty() ? "" : " [" + rule.note() + "]"));
            }
        }
        if (s.staticShapesRequired()) {
            List<Value> touched = new ArrayList<>(n.inputs());
            touched.addAll(n.outputs());
            for (Value v : touched) {
                if (v == null || v.name().isEmpty()) {
                    continue;
                }
                Shape shape = types.shapeOf(v);
                if (shape == null || !shape.isStatic()) {
                    return new Refusal(name, op, "dynamic shapes", "'" + v.name() + "' " + (shape == null ? "(unknown)" : shape),
                            "--fix-shape " + exampleFix(model));
                }
            }
        }
        return null;
    }

    /**
     * Whether the provider sees {@code v} as a constant. NOTE: a provider that takes
     * DequantizeLinear takes a QDQ model as node units (DQ → op → Q), where a weight dequantized
     * from an initializer counts as that constant initializer, quantized; ONNX Runtime keeps those
     * DQ nodes unfolded for exactly this reason.
     */
    private static boolean isConstant(Value v, MobileSupport s) {
        if (v.constant() != null || (v.producer() != null && v.producer().is("Constant"))) {
            return true;
        }
        Node producer = v.producer();
        return producer != null && producer.is("DequantizeLinear") && s.rules().containsKey("ai.onnx:DequantizeLinear")
                && producer.inputs().stream().allMatch(in -> in == null || in.name().isEmpty() || isConstant(in, s));
    }

    private static String opFix(MobileSupport s, String opType) {
        if (QOPERATOR.contains(opType)) {
            return s.id().equals("coreml")
                    ? "the CoreML table has no quantized ops: export the float or fp16 model (slimnx quantize --mode fp16)"
                    : "quantized in QOperator/dynamic form: quantize statically to QDQ (slimnx quantize --mode static),"
                    + " whose Q/DQ node units NNAPI takes";
        }
        return switch (opType) {
            case "Erf" -> "exact GELU's Erf runs on the CPU: export the model with tanh-approximated GELU, or accept the split";
            case "LayerNormalization" -> "runs on the CPU: a decomposed LayerNorm (ReduceMean/Sub/Mul/Sqrt/Div) stays on "
                    + s.id();
            default -> "no " + s.id() + " kernel for " + opType + ": it runs on the CPU provider between partitions";
        };
    }

    private static String typeFix(MobileSupport s, DataType t) {
        if (t == DataType.INT64) {
            return s.id() + " has no int64 tensors: fold shape computations (slimnx optimize after --fix-shape)";
        }
        return s.id() + " takes " + String.join(", ", new java.util.TreeSet<>(s.types()));
    }

    /** {@code input=1x1x28x28} for the first input with a dynamic dim, dynamic dims at 1. */
    private static String exampleFix(Model model) {
        for (Value in : model.graph().inputs()) {
            Shape s = in.shape();
            if (!in.isInitializer() && (s == null || !s.isStatic())) {
                if (s == null) {
                    return in.name() + "=...";
                }
                List<String> dims = new ArrayList<>();
                s.dims().forEach(d -> dims.add(d.isKnown() ? Long.toString(d.value()) : "1"));
                return in.name() + "=" + String.join("x", dims);
            }
        }
        return "NAME=D1xD2... (an intermediate shape is dynamic: fold shape computations with slimnx optimize)";
    }
}
