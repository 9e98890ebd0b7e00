package dev.slimnx.validate.report;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.stats.ModelStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * What a report says about one model.
 *
 * @param file the model file, or null for a model held in memory
 * @param bytes file size (0 in memory)
 * @param params parameter count
 * @param macs MACs per sample
 * @param nodes node count
 * @param ops op histogram
 */
public record ModelFacts(String file, long bytes, long params, long macs, int nodes, Map<String, Integer> ops) {
    /**
     * @param model the model
     * @param file where it was read from, or null
     * @return its facts
     * @throws IOException if the file size cannot be read
     */
    public static ModelFacts of(Model model, Path file) throws IOException {
        ModelStats s = ModelStats.of(model);
        long bytes = file == null ? 0 : Files.size(file);
        return new ModelFacts(file == null ? null : file.toString(), bytes, s.parameterCount(), s.totalMacs(),
                model.graph().allNodes().size(), Map.copyOf(s.opHistogram()));
    }
}
