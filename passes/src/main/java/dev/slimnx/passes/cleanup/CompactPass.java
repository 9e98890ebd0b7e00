package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code compact}: writes the same model in fewer bytes. Only names and redundant attributes change,
 * so every output stays bit for bit what it was.
 *
 * <ul>
 *   <li>{@code value}: internal values get short base-36 names ({@link ShortValueNames}).</li>
 *   <li>{@code node name}: PyTorch's scoped node names repeat each module's path in every segment
 *       ({@code /stages/stages.0/stages.0.2/m/Mul}); a segment that the next one extends
 *       ({@code stages} before {@code stages.0}) is dropped, giving {@code /stages.0.2/m/Mul}, which
 *       still names the module. A name that would then clash with another node's keeps its form.</li>
 *   <li>{@code default attribute}: attributes equal to the value ONNX assumes without them
 *       ({@link DefaultAttributes}).</li>
 * </ul>
 *
 * <p>Why: in the small reference models the exporter's names are 10 to 15% of a quantized file
 * (efficientvit: 44 of 239 KB), as much as its per-channel scales. Not in {@code optimize}'s default
 * pipeline (names are how a person reads a model); {@code quantize} applies it to its output.
 * Skipped entirely for models with training info (its graphs address values by name and are opaque
 * to slimnx). One run reaches a fixed point.
 */
public final class CompactPass implements Pass {
    /** The pass id. */
    public static final String ID = "compact";

    /** How the CLI and recipes find this pass. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "short value names, node names without repeated module paths, no default-valued attributes (smaller file)",
            true, List.of(), o -> new CompactPass());

    /** A pass without options. */
    public CompactPass() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        RewriteCounter counter = new RewriteCounter(ID);
        if (!model.trainingInfo().isEmpty()) {
            return counter.result();
        }
        Graph g = model.graph();
        counter.count("value", ShortValueNames.apply(g));
        shortenNodeNames(g, counter);
        long opset = model.opsetImports().stream().filter(OpsetId::isOnnxDomain).mapToLong(OpsetId::version)
                .findFirst().orElse(1);
        for (Node n : g.allNodes()) {
            for (Attribute a : List.copyOf(n.attributes())) {
                if (DefaultAttributes.isDefault(n, a, opset)) {
                    n.removeAttribute(a.name());
                    counter.count("default attribute");
                }
            }
        }
        return counter.result();
    }

    private static void shortenNodeNames(Graph g, RewriteCounter counter) {
        Map<String, Integer> uses = new HashMap<>();
        List<String> shorter = new ArrayList<>();
        for (Node n : g.nodes()) {
            String s = withoutRepeatedScopes(n.name());
            shorter.add(s);
            uses.merge(s, 1, Integer::sum);
            if (!s.equals(n.name())) {
                uses.merge(n.name(), 1, Integer::sum);
            }
        }
        for (int i = 0; i < shorter.size(); i++) {
            Node n = g.nodes().get(i);
            String s = shorter.get(i);
            if (!s.equals(n.name()) && uses.get(s) == 1) {
                n.setName(s);
                counter.count("node name");
            }
        }
    }

    /** {@code /a/a.b/a.b.c/Op} → {@code /a.b.c/Op}: drops each segment the next one starts with, plus a dot. */
    static String withoutRepeatedScopes(String name) {
        String[] segments = name.split("/", -1);
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < segments.length; i++) {
            boolean extended = i + 1 < segments.length && !segments[i].isEmpty()
                    && segments[i + 1].startsWith(segments[i] + ".");
            if (!extended) {
                kept.add(segments[i]);
            }
        }
        return String.join("/", kept);
    }
}
