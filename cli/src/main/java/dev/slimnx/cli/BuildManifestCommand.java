package dev.slimnx.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.AtomicFiles;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RunOptions;
import dev.slimnx.validate.data.DataSpec;
import dev.slimnx.validate.data.ImagePreprocessing;
import dev.slimnx.validate.ReferenceTaskEvaluator;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code slimnx reference build-manifest}: a maintainer command that writes
 * {@code reference-models/manifest.json} from the recipes' training logs, the ONNX files
 * (SHA-256, params, MACs) and the metric measured here through ONNX Runtime.
 */
@Command(name = "build-manifest", hidden = true, mixinStandardHelpOptions = true,
        description = "Rebuild reference-models/manifest.json from training logs and ONNX Runtime evaluation.")
public final class BuildManifestCommand implements Callable<Integer> {
    static final String SCHEMA = "slimnx.reference-manifest/1";

    @Spec
    CommandSpec spec;

    @Option(names = "--dir", defaultValue = "reference-models", description = "the reference-models folder (default: ${DEFAULT-VALUE})")
    Path dir;

    @Option(names = "--threads", defaultValue = "2", description = "ONNX Runtime threads for the evaluation")
    int threads;

    @Override
    public Integer call() throws IOException {
        ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
        PrintWriter out = spec.commandLine().getOut();
        ObjectNode root = json.createObjectNode();
        root.put("schema", SCHEMA);
        ObjectNode dataset = root.putObject("dataset");
        dataset.put("name", "Fashion-MNIST");
        dataset.put("licence", "MIT (Copyright (c) 2017 Zalando SE), see data/LICENSE-fashion-mnist.txt");
        dataset.put("test_images", "data/t10k-images-idx3-ubyte.gz");
        dataset.put("test_labels", "data/t10k-labels-idx1-ubyte.gz");
        dataset.put("calib_images", "data/calib-images-idx3-ubyte.gz");
        dataset.put("calib_labels", "data/calib-labels-idx1-ubyte.gz");
        ArrayNode models = root.putArray("models");
        List<Path> logs;
        try (Stream<Path> s = Files.list(dir.resolve("training-logs"))) {
            logs = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        for (String name : List.of("vit", "deepvit", "mobilevit", "mobilevitv2", "efficientvit", "navit", "memvit", "detr")) {
            Path log = dir.resolve("training-logs").resolve(name + ".json");
            Path onnx = dir.resolve("models").resolve(name + ".onnx");
            if (!logs.contains(log) || !Files.isRegularFile(onnx)) {
                out.println(name + ": no trained model yet, left out");
                continue;
            }
            models.add(entry(json, name, json.readTree(log.toFile()), onnx));
            out.println(name + ": done");
        }
        Path manifest = dir.resolve(ReferenceModels.MANIFEST);
        AtomicFiles.write(manifest, tmp -> json.writeValue(tmp.toFile(), root));
        out.println("wrote " + manifest);
        return ExitCode.OK;
    }

    private ObjectNode entry(ObjectMapper json, String name, JsonNode log, Path onnx) throws IOException {
        ObjectNode e = json.createObjectNode();
        e.put("name", name);
        JsonNode paper = log.path("paper");
        e.put("paper", paper.isObject() ? paper.path("title").asText() + " (" + paper.path("year").asText() + ")" : paper.asText());
        e.put("file", "models/" + name + ".onnx");
        e.put("sha256", ReferenceModels.sha256(onnx));
        e.put("task", task(name));
        e.put("description", log.path("task").asText());
        e.set("mechanism", log.path("mechanism"));
        ArrayNode inputs = e.putArray("inputs");
        for (JsonNode in : log.path("inputs")) {
            ObjectNode i = inputs.addObject();
            i.put("name", in.path("name").asText());
            i.set("shape", in.path("shape"));
            i.put("dtype", in.path("dtype").asText("float32"));
            i.put("layout", in.path("layout").asText(""));
            JsonNode pre = in.path("preprocessing");
            if (pre.isObject()) {
                ObjectNode p = i.putObject("preprocessing");
                p.put("scale", scale(pre.path("scale")));
                p.set("mean", pre.path("mean"));
                p.set("std", pre.path("std"));
                p.put("formula", pre.path("formula").asText("x = (pixel * scale - mean) / std"));
            }
        }
        e.set("outputs", log.path("outputs"));
        Model model = OnnxReader.read(onnx);
        ModelStats stats = ModelStats.of(model);
        e.put("params", stats.parameterCount());
        e.put("macs", stats.totalMacs());
        e.put("onnx_bytes", Files.size(onnx));
        e.put("opset", model.opsetVersion(""));
        ObjectNode metrics = e.putObject("metrics");
        for (var m : evaluate(name, model, log).entrySet()) {
            ObjectNode entry = metrics.putObject(m.getKey());
            entry.put("onnxruntime", round(m.getValue()));
            entry.put("pytorch", pytorchFigure(log, m.getKey()));
            entry.put("eval_set", log.path("metric").path("split").asText());
        }
        if (log.has("label_map_task_b")) {
            e.putObject("label_maps").set("logits_b", log.path("label_map_task_b"));
        }
        e.set("architecture", log.path("architecture"));
        e.set("training", log.path("training"));
        e.put("seed", log.path("seed").asLong());
        e.put("train_minutes", log.path("train_minutes").asDouble());
        e.put("torch_version", log.path("torch_version").asText());
        e.put("machine", log.path("machine").asText());
        return e;
    }

    /** Runs the model's task through ONNX Runtime on the committed data; metric name → value. */
    private Map<String, Double> evaluate(String name, Model model, JsonNode log) throws IOException {
        Map<String, int[]> maps = new LinkedHashMap<>();
        if (task(name).equals("multitask")) {
            int[] superMap = new int[10];
            for (int i = 0; i < 10; i++) {
                superMap[i] = log.path("label_map_task_b").path(i).asInt();
            }
            maps.put("logits_a", null);
            maps.put("logits_b", superMap);
        }
        try (ModelRunner runner = ModelRunner.open(model, RunOptions.defaults().withIntraOpThreads(threads))) {
            return ReferenceTaskEvaluator.evaluate(task(name), model, runner,
                    DataSpec.images(dir.resolve("data/t10k-images-idx3-ubyte.gz"), "test", preprocessing(log)), maps);
        }
    }

    /**
     * The recipe's own figure for a metric, where its log has one: {@code metric.pytorch} is a
     * number for single-metric models, or an object keyed by the metric's name (with or without
     * its {@code top1_} prefix: {@code task_a}, {@code map50}).
     */
    private static double pytorchFigure(JsonNode log, String metric) {
        JsonNode p = log.path("metric").path("pytorch");
        if (p.isNumber()) {
            return metric.equals("top1") || metric.equals("map50") ? p.asDouble() : Double.NaN;
        }
        JsonNode v = p.has(metric) ? p.path(metric) : p.path(metric.replaceFirst("^top1_", ""));
        return v.isNumber() ? v.asDouble() : Double.NaN;
    }

    /** Preprocessing of the first input that declares one; all reference models share it. */
    private static ImagePreprocessing preprocessing(JsonNode log) {
        for (JsonNode in : log.path("inputs")) {
            JsonNode pre = in.path("preprocessing");
            if (pre.isObject()) {
                return new ImagePreprocessing(scale(pre.path("scale")), new double[] {first(pre.path("mean"))},
                        new double[] {first(pre.path("std"))});
            }
        }
        throw new IllegalStateException("training log " + log.path("name").asText() + " declares no preprocessing");
    }

    private static double first(JsonNode n) {
        return n.isArray() ? n.get(0).asDouble() : n.asDouble();
    }

    private static double round(double v) {
        return Math.round(v * 1e6) / 1e6;
    }

    /** Scales are written as "1/255" by the recipes; the manifest holds the number. */
    static double scale(JsonNode n) {
        if (n.isNumber()) {
            return n.asDouble();
        }
        String s = n.asText("1").trim();
        int slash = s.indexOf('/');
        return slash < 0 ? Double.parseDouble(s)
                : Double.parseDouble(s.substring(0, slash)) / Double.parseDouble(s.substring(slash + 1));
    }

    static String task(String name) {
        return switch (name) {
            case "memvit" -> "multitask";
            case "navit" -> "packed";
            case "detr" -> "detection";
            default -> "classification";
        };
    }
}
