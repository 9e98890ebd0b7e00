package dev.slimnx.passes.autodiff;

import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * The gradient builder met nodes it cannot differentiate, before it emitted anything: op types
 * without a {@link BackwardRule}, and nodes whose rule refused them (with the rule's reason). The
 * message is one line, naming every op type so the caller sees at once what support is missing.
 */
public final class NotDifferentiableException extends RuntimeException {
    private final SortedMap<String, Integer> missing;
    private final List<String> refused;

    /**
     * @param missing op types without a rule, each with the number of nodes on the path
     * @param refused nodes a rule refused, each described with the reason
     */
    public NotDifferentiableException(Map<String, Integer> missing, List<String> refused) {
        super(message(new TreeMap<>(missing), refused));
        this.missing = new TreeMap<>(missing);
        this.refused = List.copyOf(refused);
    }

    private static String message(SortedMap<String, Integer> missing, List<String> refused) {
        StringBuilder sb = new StringBuilder("cannot differentiate the model:");
        if (!missing.isEmpty()) {
            sb.append(" no backward rule for ").append(missing.entrySet().stream()
                    .map(e -> e.getKey() + " (" + e.getValue() + (e.getValue() == 1 ? " node)" : " nodes)"))
                    .collect(Collectors.joining(", ")));
        }
        if (!refused.isEmpty()) {
            sb.append(missing.isEmpty() ? " " : "; ").append(String.join("; ", refused));
        }
        return sb.toString();
    }

    /** @return op types without a backward rule, with their node counts, sorted by name */
    public SortedMap<String, Integer> missingOpTypes() {
        return missing;
    }

    /** @return the nodes a rule refused, as {@code OpType 'name': reason} */
    public List<String> refusedNodes() {
        return refused;
    }
}
