package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Function;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code dead-code}: removes what nothing reads and merges identical initializers. Lossless: no
 * graph output's value changes, and neither do the model's inputs and outputs.
 *
 * <p>What it removes, counted by kind:
 * <ul>
 *   <li>{@code node}: a node none of whose outputs is read by a node or is an output of its graph,
 *       repeated until none is left (a dead chain goes at once). ONNX ops have no side effects, so
 *       a node nobody reads computes nothing anyone sees. Subgraphs (If/Loop/Scan bodies) are swept
 *       too, against their own outputs; a dead node holding subgraphs goes with them.</li>
 *   <li>{@code initializer}: an initializer no node reads that is neither a graph input (then it is
 *       a default the caller may override, part of the signature) nor a graph output. Sparse
 *       initializers are left alone.</li>
 *   <li>{@code duplicate initializer} (main graph only): an initializer equal to an earlier one,
 *       same element type, same dims, same bytes (so {@code 0.0} and {@code -0.0} differ, and two
 *       NaNs are equal only bit for bit), whose readers are repointed to the earlier one before it
 *       is removed. Never merged: initializers that are graph inputs or graph outputs (a caller
 *       addresses them by name) and STRING tensors.</li>
 *   <li>{@code value_info}: an entry describing a value that no longer exists in its graph or an
 *       enclosing one (the output of a removed node, a removed initializer, a name nothing defines).</li>
 *   <li>{@code opset import}: a model-level import of a domain that no node uses, in the main graph,
 *       its subgraphs or the model-local functions, and that names no model-local function. The
 *       default domain is always kept, and all imports are kept when the model carries training
 *       info (its graphs are opaque to slimnx and may use any domain).</li>
 * </ul>
 *
 * <p>Graph inputs, graph outputs and function bodies are never touched. One run reaches a fixed
 * point (each step only removes what the later steps would look at), so a second run changes nothing.
 */
public final class DeadCodePass implements Pass {
    /** The pass id. */
    public static final String ID = "dead-code";

    /** How the CLI and recipes find this pass. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "removes unused nodes, initializers, value_info entries and opset imports; merges identical initializers",
            true, List.of(), o -> new DeadCodePass());

    private static final System.Logger LOG = System.getLogger(DeadCodePass.class.getName());

    /** A pass without options. */
    public DeadCodePass() {
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        RewriteCounter counter = new RewriteCounter(ID);
        Graph main = model.graph();
        while (removeDeadNodes(main, counter)) {
            // a node removed out of order can free an earlier one; sweep again
        }
        removeUnusedInitializers(main, counter);
        mergeDuplicateInitializers(main, counter);
        removeStaleValueInfos(main, counter);
        removeUnusedOpsetImports(model, counter);
        return counter.result();
    }

    // ---- nodes ----

    /** Sweeps subgraphs first (their nodes read outer values), then this graph's nodes from last to first. */
    private static boolean removeDeadNodes(Graph g, RewriteCounter counter) {
        boolean any = false;
        for (Node n : g.nodes()) {
            for (Graph sub : n.subgraphs()) {
                any |= removeDeadNodes(sub, counter);
            }
        }
        List<Node> nodes = new ArrayList<>(g.nodes());
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            if (isDead(n)) {
                LOG.log(System.Logger.Level.DEBUG, "removing unused {0}", n.describe());
                for (Graph sub : n.subgraphs()) {
                    dropReads(sub);
                }
                g.removeNode(n);
                counter.count("node");
                any = true;
            }
        }
        return any;
    }

    /**
     * Clears every input of the nodes of a subgraph that goes away with its node. NOTE: removing a
     * node detaches only its own inputs; reads of outer values from inside its subgraphs would stay in
     * those values' use-lists and keep them (and their producers) alive.
     */
    private static void dropReads(Graph sub) {
        for (Node n : sub.allNodes()) {
            for (int i = 0; i < n.inputs().size(); i++) {
                n.setInput(i, null);
            }
        }
    }

    private static boolean isDead(Node n) {
        for (Value out : n.outputs()) {
            if (!out.uses().isEmpty() || out.isGraphOutput()) {
                return false;
            }
        }
        return true;
    }

    // ---- initializers ----

    private static void removeUnusedInitializers(Graph g, RewriteCounter counter) {
        for (Node n : g.nodes()) {
            for (Graph sub : n.subgraphs()) {
                removeUnusedInitializers(sub, counter);
            }
        }
        for (Value v : List.copyOf(g.initializers())) {
            if (v.uses().isEmpty() && !v.isGraphInput() && !v.isGraphOutput()) {
                LOG.log(System.Logger.Level.DEBUG, "removing unused initializer ''{0}''", v.name());
                g.removeInitializer(v);
                counter.count("initializer");
            }
        }
    }

    /** Identity of an initializer's content, for grouping; equal keys still need a byte comparison. */
    private record ContentKey(int typeCode, List<Long> dims, long bytes, int hash) {
    }

    private static void mergeDuplicateInitializers(Graph g, RewriteCounter counter) {
        Map<ContentKey, List<Value>> firsts = new HashMap<>();
        for (Value v : List.copyOf(g.initializers())) {
            Tensor t = v.initializer();
            if (v.isGraphInput() || v.isGraphOutput() || t.dataType().bits() == 0) {
                continue; // STRING, UNDEFINED and unknown type codes have no raw layout to compare
            }
            ByteBuffer bytes = t.rawBytes();
            ContentKey key = new ContentKey(t.dataTypeCode(), Arrays.stream(t.dims()).boxed().toList(),
                    bytes.remaining(), bytes.hashCode());
            List<Value> candidates = firsts.computeIfAbsent(key, k -> new ArrayList<>());
            Value same = null;
            for (Value c : candidates) {
                if (c.initializer().rawBytes().equals(bytes)) {
                    same = c;
                    break;
                }
            }
            if (same == null) {
                candidates.add(v);
                continue;
            }
            LOG.log(System.Logger.Level.DEBUG, "initializer ''{0}'' equals ''{1}''; merged", v.name(), same.name());
            v.replaceAllUsesWith(same);
            g.removeInitializer(v);
            counter.count("duplicate initializer");
        }
    }

    // ---- value_info ----

    private static void removeStaleValueInfos(Graph g, RewriteCounter counter) {
        for (Node n : g.nodes()) {
            for (Graph sub : n.subgraphs()) {
                removeStaleValueInfos(sub, counter);
            }
        }
        List<Value> stale = g.valueInfos().stream().filter(v -> !exists(v, g)).toList();
        for (Value v : stale) {
            LOG.log(System.Logger.Level.DEBUG, "removing value_info of ''{0}'', which no longer exists", v.name());
            g.valueInfos().removeIf(x -> x == v);
            counter.count("value_info");
        }
    }

    /**
     * @return true when {@code v} is defined in {@code g} or a graph around it: a node output whose node is
     *     still in such a graph, a graph input or initializer, or (for an entry the reader kept apart because
     *     it described a value differently) a name such a graph defines
     */
    private static boolean exists(Value v, Graph g) {
        Node p = v.producer();
        if (p != null) {
            return p.graph() != null && encloses(p.graph(), g);
        }
        if (v.isGraphInput() || v.isInitializer()) {
            return v.graph() != null && encloses(v.graph(), g);
        }
        for (Graph x = g; x != null; x = x.parentGraph()) {
            if (x.valuesByName().containsKey(v.name())) {
                return true;
            }
        }
        return false;
    }

    private static boolean encloses(Graph outer, Graph inner) {
        for (Graph x = inner; x != null; x = x.parentGraph()) {
            if (x == outer) {
                return true;
            }
        }
        return false;
    }

    // ---- opset imports ----

    private static void removeUnusedOpsetImports(Model model, RewriteCounter counter) {
        if (!model.trainingInfo().isEmpty()) {
            return;
        }
        Set<String> used = new HashSet<>();
        List<Node> all = new ArrayList<>(model.graph().allNodes());
        for (Function f : model.functions()) {
            used.add(f.domain());
            all.addAll(f.body().allNodes());
        }
        for (Node n : all) {
            used.add(n.isOnnxDomain() ? "" : n.domain());
        }
        List<OpsetId> unused = model.opsetImports().stream()
                .filter(id -> !id.isOnnxDomain() && !used.contains(id.domain())).toList();
        for (OpsetId id : unused) {
            LOG.log(System.Logger.Level.DEBUG, "removing the import of unused domain ''{0}''", id.domain());
            model.opsetImports().remove(id);
            counter.count("opset import");
        }
    }
}
