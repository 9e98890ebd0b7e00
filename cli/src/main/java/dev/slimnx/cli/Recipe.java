package dev.slimnx.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.slimnx.reference.ReferenceModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A recipe file as read: the input model, the seed and the steps in order. Only the shape is
 * checked here (known top-level keys, known step kinds, a model that exists); each step's options
 * are checked by the command that runs it ({@link RunCommand}). Every error is a {@link UserError}
 * of one line that names the file and the key path ({@code steps[2].prune}), steps counted from 0.
 *
 * <pre>{@code
 * model: {reference: vit}        # or a path, relative to the recipe file
 * seed: 7
 * steps:
 *   - optimize                   # no options: the default lossless pipeline
 *   - prune: {ffn-ratio: 2, importance: magnitude}
 *   - validate: {limit: 500, no-latency: true, gates: ["top1_drop <= 2"]}
 * }</pre>
 *
 * @param file the recipe file
 * @param model the input model, resolved
 * @param seed the seed given to every step that takes {@code --seed} and does not set its own
 * @param steps the steps in order
 */
record Recipe(Path file, Path model, long seed, List<Step> steps) {
    /** The step kinds, each run by the {@code slimnx} subcommand of the same name. */
    static final List<String> KINDS = List.of("optimize", "prune", "finetune", "quantize", "validate", "export");

    private static final List<String> TOP_LEVEL = List.of("model", "seed", "steps", "description");

    /**
     * One step.
     *
     * @param index its position, from 0
     * @param kind one of {@link #KINDS}
     * @param options its options by key, in the order written (values are YAML scalars or lists)
     */
    record Step(int index, String kind, Map<String, JsonNode> options) {
        /** @return the key path of the step, e.g. {@code steps[1].prune} */
        String path() {
            return "steps[" + index + "]." + kind;
        }

        /** @return the stem of the files the step writes, e.g. {@code 02-prune} (numbered from 1) */
        String stem() {
            return String.format("%02d-%s", index + 1, kind);
        }
    }

    /** @return the folder relative paths in the recipe are resolved against */
    Path dir() {
        Path parent = file.toAbsolutePath().getParent();
        return parent == null ? Path.of("") : parent;
    }

    /** @return the recipe's name: its file name without {@code .yaml}/{@code .yml} */
    String name() {
        return file.getFileName().toString().replaceFirst("\\.ya?ml$", "");
    }

    /**
     * @param key a key path in the recipe
     * @param message what is wrong with it
     * @return the error, as one line naming the file and the key
     */
    UserError error(String key, String message) {
        return error(file, key, message);
    }

    private static UserError error(Path file, String key, String message) {
        return new UserError(file + ": " + key + ": " + message);
    }

    /**
     * @param file a recipe file
     * @return the recipe
     * @throws UserError if the file is missing, is not YAML, or its shape is wrong
     * @throws IOException if it cannot be read
     */
    static Recipe read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString());
        }
        JsonNode root;
        try {
            root = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
        } catch (JacksonException e) {
            String where = e.getLocation() == null ? "" : " (line " + e.getLocation().getLineNr() + ")";
            // NOTE: SnakeYAML's message spans lines (a caret under the place); the line number says where
            throw new UserError(file + ": not valid YAML" + where + ": " + String.join("; ", e.getOriginalMessage()
                    .lines().map(String::strip).filter(l -> !l.isEmpty() && !l.startsWith("in '") && !l.equals("^"))
                    .toList()));
        }
        if (root == null || !root.isObject()) {
            throw new UserError(file + ": a recipe is a YAML mapping with the keys model, seed and steps");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!TOP_LEVEL.contains(key)) {
                throw error(file, key, "unknown key; expected " + String.join(", ", TOP_LEVEL));
            }
        }
        Path dir = file.toAbsolutePath().getParent();
        Path model = model(file, dir, root.get("model"));
        long seed = 0;
        JsonNode s = root.get("seed");
        if (s != null) {
            if (!s.canConvertToLong() || !s.isIntegralNumber()) {
                throw error(file, "seed", "must be a whole number, got " + s);
            }
            seed = s.asLong();
        }
        JsonNode list = root.get("steps");
        if (list == null || !list.isArray() || list.isEmpty()) {
            throw error(file, "steps", "give a list of steps, each one of " + String.join(", ", KINDS));
        }
        List<Step> steps = new ArrayList<>();
        for (int i = 0; i < list.size(); i++) {
            steps.add(step(file, i, list.get(i)));
        }
        return new Recipe(file, model, seed, List.copyOf(steps));
    }

    private static Path model(Path file, Path dir, JsonNode m) throws IOException {
        if (m == null) {
            throw error(file, "model", "missing; give a path or {reference: NAME}");
        }
        if (m.isTextual()) {
            Path p = dir.resolve(m.asText()).normalize();
            if (!Files.isRegularFile(p)) {
                throw error(file, "model", p + ": no such file");
            }
            return p;
        }
        if (m.isObject() && m.size() == 1 && m.get("reference") != null && m.get("reference").isTextual()) {
            try {
                return ReferenceModels.locate().get(m.get("reference").asText()).file();
            } catch (IllegalArgumentException | IOException e) {
                throw error(file, "model.reference", e.getMessage());
            }
        }
        throw error(file, "model", "give a path or {reference: NAME}, got " + m);
    }

    private static Step step(Path file, int index, JsonNode node) {
        String where = "steps[" + index + "]";
        String kind;
        JsonNode options;
        if (node.isTextual()) {
            kind = node.asText();
            options = null;
        } else if (node.isObject() && node.size() == 1) {
            kind = node.fieldNames().next();
            options = node.get(kind);
        } else {
            throw error(file, where, "a step is one of " + String.join(", ", KINDS) + ", with its options as a mapping");
        }
        if (!KINDS.contains(kind)) {
            throw error(file, where, "unknown step '" + kind + "'; expected one of " + String.join(", ", KINDS));
        }
        Map<String, JsonNode> values = new LinkedHashMap<>();
        if (options != null && !options.isNull()) {
            if (!options.isObject()) {
                throw error(file, where + "." + kind, "options must be a mapping (key: value), got " + options);
            }
            options.fields().forEachRemaining(e -> values.put(e.getKey(), e.getValue()));
        }
        return new Step(index, kind, values);
    }
}
