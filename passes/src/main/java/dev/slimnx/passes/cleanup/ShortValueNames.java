package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.TensorAnnotation;
import dev.slimnx.graph.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The value part of {@code compact}: renames the main graph's internal values (node outputs and
 * initializers) to short names in base 36 ({@code 0}, {@code 1}, … {@code z}, {@code 10}, …), in the
 * order the writer emits them. Graph inputs and outputs, subgraphs' own values and function bodies
 * keep their names; values a subgraph reads from outside are the same objects, so they follow.
 *
 * <p>Renaming is a permutation done in two steps (first to names no value has, then to the short
 * ones), so a second run finds every name in place and changes nothing. Quantization annotations and
 * value_info entries kept apart from their values follow by name. Sparse initializers keep theirs.
 */
final class ShortValueNames {
    private static final String DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz";

    private ShortValueNames() {
    }

    /**
     * @param g the main graph
     * @return how many values were renamed
     */
    static int apply(Graph g) {
        List<Value> renamed = renamable(g);
        Map<Value, String> target = shortNames(g, renamed);
        if (renamed.stream().allMatch(v -> v.name().equals(target.get(v)))) {
            return 0;
        }
        Map<String, String> newNames = new HashMap<>();
        for (Value v : renamed) {
            newNames.put(v.name(), target.get(v));
        }
        Set<String> taken = allNames(g);
        long temp = 0;
        for (Value v : renamed) {
            String t;
            do {
                t = "compact-tmp-" + temp++;
            } while (taken.contains(t));
            rename(g, v, t);
        }
        for (Value v : renamed) {
            rename(g, v, target.get(v));
        }
        renameDetachedValueInfos(g, renamed, newNames);
        renameAnnotations(g, newNames);
        return (int) newNames.entrySet().stream().filter(e -> !e.getKey().equals(e.getValue())).count();
    }

    /** Initializers then node outputs, in file order; not graph inputs/outputs, not sparse. */
    private static List<Value> renamable(Graph g) {
        Set<Value> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        List<Value> out = new ArrayList<>();
        for (Value v : g.initializers()) {
            if (!v.isGraphInput() && !v.isGraphOutput() && seen.add(v)) {
                out.add(v);
            }
        }
        for (Node n : g.nodes()) {
            for (Value v : n.outputs()) {
                if (!v.name().isEmpty() && !v.isGraphOutput() && seen.add(v)) {
                    out.add(v);
                }
            }
        }
        return out;
    }

    /** The i-th renamable value gets the i-th base-36 name that no kept value (anywhere) already has. */
    private static Map<Value, String> shortNames(Graph g, List<Value> renamed) {
        Set<String> kept = allNames(g);
        for (Value v : renamed) {
            kept.remove(v.name());
        }
        Map<Value, String> out = new IdentityHashMap<>();
        long next = 0;
        for (Value v : renamed) {
            String name;
            do {
                name = base36(next++);
            } while (kept.contains(name));
            out.put(v, name);
        }
        return out;
    }

    /** Every value name in the graph and its subgraphs: ONNX names are unique across all of them. */
    private static Set<String> allNames(Graph g) {
        Set<String> names = new HashSet<>(g.valuesByName().keySet());
        for (Node n : g.allNodes()) {
            for (Graph sub : n.subgraphs()) {
                names.addAll(sub.valuesByName().keySet());
            }
        }
        for (Value v : g.outputs()) {
            names.add(v.name());
        }
        for (Value v : g.valueInfos()) {
            names.add(v.name());
        }
        return names;
    }

    static String base36(long i) {
        StringBuilder s = new StringBuilder();
        do {
            s.append(DIGITS.charAt((int) (i % 36)));
            i /= 36;
        } while (i > 0);
        return s.reverse().toString();
    }

    private static void rename(Graph g, Value v, String name) {
        if (v.isInitializer()) {
            g.renameInitializer(v, name);
        } else {
            v.setName(name);
        }
    }

    /** value_info entries the reader kept as objects of their own (they described a value differently) follow by name. */
    private static void renameDetachedValueInfos(Graph g, List<Value> renamed, Map<String, String> newNames) {
        Set<Value> done = Collections.newSetFromMap(new IdentityHashMap<>());
        done.addAll(renamed);
        for (Value info : g.valueInfos()) {
            String name = newNames.get(info.name());
            if (!done.contains(info) && name != null) {
                info.setName(name);
            }
        }
    }

    private static void renameAnnotations(Graph g, Map<String, String> newNames) {
        List<TensorAnnotation> annotations = g.quantizationAnnotations();
        if (annotations.isEmpty()) {
            return;
        }
        List<TensorAnnotation> out = new ArrayList<>();
        for (TensorAnnotation a : annotations) {
            String name = newNames.getOrDefault(a.tensorName(), a.tensorName());
            out.add(new TensorAnnotation(name, a.parameters(), a.extra()));
        }
        g.setQuantizationAnnotations(out);
    }
}
