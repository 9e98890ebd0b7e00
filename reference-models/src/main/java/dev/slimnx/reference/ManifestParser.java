package dev.slimnx.reference;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Turns a manifest entry into a {@link ReferenceModel}, with messages that name the field. */
final class ManifestParser {
    private ManifestParser() {
    }

    static ReferenceModel model(Path dir, JsonNode m, Path manifest) throws IOException {
        String name = text(m, "name", manifest);
        String where = manifest + ": model '" + name + "'";
        List<ReferenceModel.InputSpec> inputs = new ArrayList<>();
        for (JsonNode in : m.path("inputs")) {
            JsonNode pre = in.path("preprocessing");
            ReferenceModel.Preprocessing p = pre.isObject()
                    ? new ReferenceModel.Preprocessing(pre.path("scale").asDouble(1.0), doubles(pre.path("mean")),
                    doubles(pre.path("std")))
                    : null;
            inputs.add(new ReferenceModel.InputSpec(text(in, "name", manifest), dims(in.path("shape")),
                    in.path("dtype").asText("float32"), in.path("layout").asText(""), p));
        }
        List<ReferenceModel.OutputSpec> outputs = new ArrayList<>();
        for (JsonNode out : m.path("outputs")) {
            outputs.add(new ReferenceModel.OutputSpec(text(out, "name", manifest), dims(out.path("shape")),
                    out.path("meaning").asText("")));
        }
        Map<String, ReferenceModel.Metric> metrics = new LinkedHashMap<>();
        for (var it = m.path("metrics").fields(); it.hasNext(); ) {
            var e = it.next();
            metrics.put(e.getKey(), new ReferenceModel.Metric(e.getValue().path("onnxruntime").asDouble(Double.NaN),
                    e.getValue().path("pytorch").asDouble(Double.NaN), e.getValue().path("eval_set").asText("")));
        }
        Map<String, int[]> labelMaps = new LinkedHashMap<>();
        for (var it = m.path("label_maps").fields(); it.hasNext(); ) {
            var e = it.next();
            int[] map = new int[e.getValue().size()];
            for (int i = 0; i < map.length; i++) {
                map[i] = e.getValue().get(i).asInt();
            }
            labelMaps.put(e.getKey(), map);
        }
        ReferenceModel.Task task;
        try {
            task = ReferenceModel.Task.valueOf(text(m, "task", manifest).toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IOException(where + ": unknown task '" + m.path("task").asText() + "'");
        }
        return new ReferenceModel(name, m.path("paper").asText(""), dir.resolve(text(m, "file", manifest)),
                m.path("sha256").asText(""), task, inputs, outputs, m.path("params").asLong(),
                m.path("macs").asLong(), metrics, labelMaps, m.path("training"));
    }

    private static String text(JsonNode n, String field, Path manifest) throws IOException {
        JsonNode v = n.path(field);
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw new IOException(manifest + ": an entry lacks the text field '" + field + "'");
        }
        return v.asText();
    }

    private static List<Object> dims(JsonNode shape) {
        List<Object> out = new ArrayList<>();
        for (JsonNode d : shape) {
            out.add(d.isNumber() ? (Object) d.asLong() : d.asText());
        }
        return out;
    }

    private static double[] doubles(JsonNode n) {
        if (n.isNumber()) {
            return new double[] {n.asDouble()};
        }
        double[] out = new double[n.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = n.get(i).asDouble();
        }
        return out;
    }
}
