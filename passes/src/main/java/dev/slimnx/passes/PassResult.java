package dev.slimnx.passes;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What one run of a pass did.
 *
 * @param passId the pass
 * @param changed true only when the graph differs from before the run
 * @param counts how many rewrites of each kind, in the order they were first counted, e.g.
 *     {@code Conv+BatchNormalization -> 17}; empty when nothing changed
 */
public record PassResult(String passId, boolean changed, Map<String, Integer> counts) {
    public PassResult {
        counts = Collections.unmodifiableMap(new LinkedHashMap<>(counts));
    }

    /**
     * @param passId the pass
     * @return a result saying the pass changed nothing
     */
    public static PassResult unchanged(String passId) {
        return new PassResult(passId, false, Map.of());
    }

    /**
     * @param passId the pass
     * @param counts rewrites per kind; the result is changed when any count is positive
     * @return the result
     */
    public static PassResult of(String passId, Map<String, Integer> counts) {
        Map<String, Integer> positive = new LinkedHashMap<>();
        counts.forEach((k, v) -> {
            if (v > 0) {
                positive.put(k, v);
            }
        });
        return new PassResult(passId, !positive.isEmpty(), positive);
    }

    /** @return the total number of rewrites */
    public int total() {
        return counts.values().stream().mapToInt(Integer::intValue).sum();
    }

    /** @return e.g. {@code Conv+BatchNormalization 17, lone BatchNormalization 1}, or {@code no change} */
    public String summary() {
        if (!changed) {
            return "no change";
        }
        return counts.entrySet().stream().map(e -> e.getKey() + " " + e.getValue())
                .collect(Collectors.joining(", "));
    }
}
