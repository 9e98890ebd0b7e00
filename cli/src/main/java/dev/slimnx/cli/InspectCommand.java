package dev.slimnx.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.graph.stats.NodeMacs;
import dev.slimnx.graph.stats.TensorSize;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.ValueType;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code slimnx inspect}: what is in a model. The facts are gathered once into a JSON tree (the
 * {@code --json} output, schema in docs/inspect-json.md) and the text view is rendered from it, so
 * the two never disagree.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Show what a model holds: inputs and outputs, ops, parameters, MACs, largest tensors.")
public final class InspectCommand implements Callable<Integer> {
    static final String SCHEMA = "slimnx.inspect/1";

    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "MODEL", description = "the ONNX model")
    Path input;

    @Option(names = "--json", description = "print JSON (schema slimnx.inspect/1) instead of text")
    boolean json;

    @Override
    public Integer call() throws Exception {
        Model model = OnnxReader.read(input);
        ObjectMapper mapper = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        ObjectNode facts = facts(mapper, model);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(mapper.writeValueAsString(facts));
        } else {
            render(facts, out);
        }
        out.flush();
        return ExitCode.OK;
    }

    private ObjectNode facts(ObjectMapper mapper, Model model) throws java.io.IOException {
        ModelStats stats = ModelStats.of(model);
        ObjectNode root = mapper.createObjectNode();
        root.put("schema", SCHEMA);
        root.put("file", input.toString());
        root.put("file_bytes", Files.size(input));
        root.put("external_data_bytes", externalBytes(model.graph()));
        root.put("ir_version", model.irVersion());
        ObjectNode producer = root.putObject("producer");
        producer.put("name", model.producerName());
        producer.put("version", model.producerVersion());
        ArrayNode opsets = root.putArray("opsets");
        for (OpsetId id : model.opsetImports()) {
            opsets.addObject().put("domain", id.isOnnxDomain() ? "ai.onnx" : id.domain()).put("version", id.version());
        }
        io(root.putArray("inputs"), model.graph().inputs().stream().filter(v -> !v.isInitializer()).toList());
        io(root.putArray("outputs"), model.graph().outputs());
        root.put("nodes", model.graph().allNodes().size());
        ObjectNode ops = root.putObject("ops");
        stats.opHistogram().entrySet().stream()
                .sorted((a, b) -> b.getValue() != a.getValue().intValue() ? b.getValue() - a.getValue() : a.getKey().compareTo(b.getKey()))
                .forEach(e -> ops.put(e.getKey(), e.getValue()));
        ObjectNode params = root.putObject("params");
        params.put("total", stats.parameterCount());
        ObjectNode pByType = params.putObject("by_dtype");
        stats.parametersByType().forEach((t, n) -> pByType.put(t.shortName(), n));
        ObjectNode macs = root.putObject("macs");
        macs.put("total", stats.totalMacs());
        macs.put("exact", stats.macsExact());
        Map<String, Long> byOp = new LinkedHashMap<>();
        for (NodeMacs n : stats.nodeMacs()) {
            if (n.macs() > 0) {
                byOp.merge(n.opType(), n.macs(), Long::sum);
            }
        }
        ObjectNode macsByOp = macs.putObject("by_op_type");
        byOp.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue(), a.getValue()))
                .forEach(e -> macsByOp.put(e.getKey(), e.getValue()));
        ObjectNode assumed = macs.putObject("assumed_dims");
        for (ModelStats.DynamicDim d : stats.dynamicDims()) {
            assumed.put(d.symbol().isEmpty() ? d.input() + "[" + d.axis() + "]" : d.symbol(), 1);
        }
        ObjectNode bytes = root.putObject("initializer_bytes");
        bytes.put("total", stats.initializerBytes());
        ObjectNode bByType = bytes.putObject("by_dtype");
        stats.bytesByType().forEach((t, n) -> bByType.put(t.shortName(), n));
        ArrayNode largest = root.putArray("largest_tensors");
        for (TensorSize t : stats.largestTensors()) {
            ObjectNode o = largest.addObject();
            o.put("name", t.name());
            o.put("dtype", t.dataType().shortName());
            ArrayNode dims = o.putArray("dims");
            for (long d : t.dims()) {
                dims.add(d);
            }
            o.put("bytes", t.bytes());
        }
        return root;
    }

    private static long externalBytes(Graph g) {
        long total = 0;
        for (Value v : g.initializers()) {
            if (v.initializer().isExternal()) {
                total += v.initializer().byteSize();
            }
        }
        for (Node n : g.nodes()) {
            for (Graph sub : n.subgraphs()) {
                total += externalBytes(sub);
            }
        }
        return total;
    }

    private static void io(ArrayNode out, List<Value> values) {
        for (Value v : values) {
            ObjectNode o = out.addObject();
            o.put("name", v.name());
            if (v.type() instanceof ValueType.TensorType t) {
                o.put("dtype", t.elemType() == DataType.UNDEFINED ? null : t.elemType().shortName());
                Shape s = t.shape();
                if (s == null) {
                    o.putNull("shape");
                } else {
                    ArrayNode dims = o.putArray("shape");
                    for (Dim d : s.dims()) {
                        switch (d.kind()) {
                            case KNOWN -> dims.add(d.value());
                            case SYMBOLIC -> dims.add(d.param());
                            case UNKNOWN -> dims.addNull();
                        }
                    }
                }
            } else {
                o.put("dtype", v.type() == null ? null : v.type().getClass().getSimpleName());
                o.putNull("shape");
            }
        }
    }

    private static void render(ObjectNode f, PrintWriter out) {
        out.printf("%s  %s, IR %d, %s, producer %s %s%n", f.path("file").asText(),
                Format.bytes(f.path("file_bytes").asLong()), f.path("ir_version").asLong(), opsets(f),
                f.path("producer").path("name").asText(), f.path("producer").path("version").asText());
        if (f.path("external_data_bytes").asLong() > 0) {
            out.printf("external data: %s%n", Format.bytes(f.path("external_data_bytes").asLong()));
        }
        out.println("inputs:");
        ioLines(f.path("inputs"), out);
        out.println("outputs:");
        ioLines(f.path("outputs"), out);
        List<String> ops = new ArrayList<>();
        f.path("ops").fields().forEachRemaining(e -> ops.add(e.getKey() + " " + e.getValue().asInt()));
        out.printf("ops (%d nodes): %s%n", f.path("nodes").asInt(), String.join(", ", ops));
        List<String> pt = new ArrayList<>();
        f.path("params").path("by_dtype").fields().forEachRemaining(e -> pt.add(e.getKey() + " " + Format.grouped(e.getValue().asLong())));
        out.printf("params: %s (%s)%n", Format.grouped(f.path("params").path("total").asLong()), String.join(", ", pt));
        List<String> assumed = new ArrayList<>();
        f.path("macs").path("assumed_dims").fieldNames().forEachRemaining(d -> assumed.add(d + " = 1"));
        out.printf("MACs: %s per sample%s%s%n", Format.count(f.path("macs").path("total").asLong()),
                assumed.isEmpty() ? "" : " (" + String.join(", ", assumed) + ")",
                f.path("macs").path("exact").asBoolean() ? "" : ", some nodes not counted (shapes unknown)");
        out.printf("initializer bytes: %s%n", Format.bytes(f.path("initializer_bytes").path("total").asLong()));
        out.println("largest tensors:");
        for (Iterator<com.fasterxml.jackson.databind.JsonNode> it = f.path("largest_tensors").elements(); it.hasNext(); ) {
            var t = it.next();
            out.printf("  %-40s %-8s %-20s %s%n", t.path("name").asText(), t.path("dtype").asText(), t.path("dims").toString(),
                    Format.bytes(t.path("bytes").asLong()));
        }
    }

    private static String opsets(ObjectNode f) {
        List<String> out = new ArrayList<>();
        f.path("opsets").forEach(o -> out.add("opset " + o.path("domain").asText() + " " + o.path("version").asLong()));
        return String.join(", ", out);
    }

    private static void ioLines(com.fasterxml.jackson.databind.JsonNode list, PrintWriter out) {
        for (var v : list) {
            out.printf("  %-24s %-8s %s%n", v.path("name").asText(), v.path("dtype").asText("?"),
                    v.path("shape").isNull() ? "(rank unknown)" : v.path("shape").toString().replace("\"", ""));
        }
    }
}
