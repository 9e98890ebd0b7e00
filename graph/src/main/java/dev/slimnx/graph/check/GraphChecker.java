package dev.slimnx.graph.check;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Function;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.OpsetId;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.schema.OpSchema;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Checks a model against the structural rules of ONNX that slimnx's passes must preserve, and
 * reports every violation with the graph path and the node it concerns.
 *
 * <p>What it checks, per graph (and recursively in subgraphs and model-local functions):
 * <ul>
 *   <li>single assignment: every value name is defined once (graph input, initializer or node
 *       output; an initializer may share its name with the input it is the default of), and a
 *       subgraph does not redefine a name of an enclosing graph;</li>
 *   <li>every node input and graph output is defined in the graph or an enclosing one;</li>
 *   <li>nodes are in topological order (a node, or a subgraph inside it, reads only values
 *       defined before it);</li>
 *   <li>for ops in {@link OpSchema}: input and output counts and required attributes of the
 *       version in force at the imported opset, and that the op exists at that opset;</li>
 *   <li>opset imports: the default domain at a version in [1, {@value OpSchema#LATEST_ONNX_OPSET}],
 *       every node's domain imported (or a model-local function), no domain imported twice.</li>
 * </ul>
 *
 * <p>NOTE: duplicate node names and ops of the default domain that the schema table does not know
 * are WARNINGs: ONNX Runtime accepts the first, and the second may be an op newer than the table.
 */
public final class GraphChecker {
    private final List<Issue> issues = new ArrayList<>();
    private final Set<String> localFunctions = new HashSet<>();

    private GraphChecker(Model model) {
        for (Function f : model.functions()) {
            localFunctions.add(f.domain() + "::" + f.name());
        }
    }

    /**
     * @param model the model to check; it is not changed
     * @return every issue found, errors and warnings, in graph order
     */
    public static List<Issue> check(Model model) {
        GraphChecker c = new GraphChecker(model);
        Map<String, Long> opsets = c.checkImports(model.opsetImports(), "model");
        Graph main = model.graph();
        c.checkGraph(main, "graph '" + main.name() + "'", null, opsets);
        for (Function f : model.functions()) {
            c.checkFunction(f, opsets);
        }
        return Collections.unmodifiableList(c.issues);
    }

    /**
     * @param model the model to check
     * @throws InvalidModelException listing every ERROR, when there is at least one
     */
    public static void checkOrThrow(Model model) {
        List<Issue> errors = check(model).stream().filter(Issue::isError).toList();
        if (!errors.isEmpty()) {
            throw new InvalidModelException(errors);
        }
    }

    // ---- opset imports ----

    private Map<String, Long> checkImports(List<OpsetId> imports, String where) {
        Map<String, Long> out = new HashMap<>();
        for (OpsetId id : imports) {
            String domain = id.isOnnxDomain() ? "" : id.domain();
            if (out.put(domain, id.version()) != null) {
                error(where, "domain '" + displayDomain(domain) + "' is imported more than once");
            }
            if (domain.isEmpty() && (id.version() < 1 || id.version() > OpSchema.LATEST_ONNX_OPSET)) {
                error(where, "imports the default domain at opset " + id.version() + ", outside the known range [1, "
                        + OpSchema.LATEST_ONNX_OPSET + "]");
            }
        }
        return out;
    }

    private void checkFunction(Function f, Map<String, Long> modelOpsets) {
        String path = "function '" + f.domain() + "::" + f.name() + "'";
        Map<String, Long> opsets = new HashMap<>(modelOpsets);
        if (!f.opsetImports().isEmpty()) {
            opsets = checkImports(f.opsetImports(), path);
        }
        checkGraph(f.body(), path, null, opsets);
    }

    // ---- graphs ----

    /** Values visible in a graph: its own so far, then the enclosing graphs'. */
    private static final class Scope {
        final Scope parent;
        final Map<String, Value> byName = new HashMap<>();
        final Set<Value> values = Collections.newSetFromMap(new IdentityHashMap<>());

        Scope(Scope parent) {
            this.parent = parent;
        }

        boolean contains(Value v) {
            for (Scope s = this; s != null; s = s.parent) {
                if (s.values.contains(v)) {
                    return true;
                }
            }
            return false;
        }

        Value lookup(String name) {
            for (Scope s = this; s != null; s = s.parent) {
                Value v = s.byName.get(name);
                if (v != null) {
                    return v;
                }
            }
            return null;
        }
    }

    private void checkGraph(Graph g, String path, Scope outer, Map<String, Long> opsets) {
        Scope scope = new Scope(outer);
        for (Value v : g.inputs()) {
            define(scope, v, path, -1, "", "graph input");
        }
        for (Value v : g.initializers()) {
            if (!(v.isGraphInput() && scope.byName.get(v.name()) == v)) {
                define(scope, v, path, -1, "", "initializer");
            }
        }
        for (Value v : g.sparseInitializers()) {
            if (!(v.isGraphInput() && scope.byName.get(v.name()) == v)) {
                define(scope, v, path, -1, "", "sparse initializer");
            }
        }
        Map<String, Integer> nodeNames = new HashMap<>();
        for (int i = 0; i < g.nodes().size(); i++) {
            Node n = g.nodes().get(i);
            if (!n.name().isEmpty()) {
                Integer first = nodeNames.putIfAbsent(n.name(), i);
                if (first != null) {
                    warning(path, i, n, "node name '" + n.name() + "' is also the name of node #" + first);
                }
            }
            for (int j = 0; j < n.inputs().size(); j++) {
                Value v = n.inputs().get(j);
                if (v != null) {
                    checkRead(scope, v, g, path, i, n, "input " + j + " '" + v.name() + "'");
                }
            }
            checkSchema(n, path, i, opsets);
            for (Attribute a : n.attributes()) {
                List<Graph> subs = a.subgraphs();
                for (int k = 0; k < subs.size(); k++) {
                    String sub = path + " > node #" + i + " (" + n.describe() + ")." + a.name()
                            + (subs.size() > 1 ? "[" + k + "]" : "");
                    checkGraph(subs.get(k), sub, scope, opsets);
                }
            }
            for (Value out : n.outputs()) {
                if (!out.name().isEmpty()) {
                    define(scope, out, path, i, n.describe(), "output of node #" + i);
                }
            }
        }
        for (int k = 0; k < g.outputs().size(); k++) {
            Value v = g.outputs().get(k);
            if (!scope.contains(v)) {
                error(path, "graph output " + k + " '" + v.name() + "' is not defined in this graph or an enclosing one");
            }
        }
    }

    private void define(Scope scope, Value v, String path, int nodeIndex, String node, String role) {
        if (v.name().isEmpty()) {
            add(Issue.Severity.ERROR, path, nodeIndex, node, role + " has an empty name");
            return;
        }
        Value previous = scope.byName.putIfAbsent(v.name(), v);
        if (previous != null && previous != v) {
            add(Issue.Severity.ERROR, path, nodeIndex, node, "'" + v.name() + "' (" + role
                    + ") is defined twice in this graph: single assignment violated");
        } else if (previous == v) {
            add(Issue.Severity.ERROR, path, nodeIndex, node, "'" + v.name() + "' (" + role
                    + ") is defined twice in this graph");
        } else if (scope.parent != null && scope.parent.lookup(v.name()) != null) {
            add(Issue.Severity.ERROR, path, nodeIndex, node, "'" + v.name() + "' (" + role
                    + ") redefines a value of an enclosing graph");
        }
        scope.values.add(v);
    }

    private void checkRead(Scope scope, Value v, Graph g, String path, int i, Node n, String what) {
        if (scope.contains(v)) {
            if (scope.lookup(v.name()) != v) {
                error(path, i, n, what + " is hidden by another value of the same name");
            }
            return;
        }
        Node producer = v.producer();
        if (producer != null && encloses(producer.graph(), g)) {
            String where = producer.graph() == g ? "" : " of graph '" + producer.graph().name() + "'";
            error(path, i, n, what + " is produced later, by node #" + producer.graph().nodes().indexOf(producer)
                    + where + " (" + producer.describe() + "): nodes are not in topological order");
        } else {
            error(path, i, n, what + " is not defined in this graph or an enclosing one");
        }
    }

    private static boolean encloses(Graph outer, Graph inner) {
        for (Graph x = inner; x != null; x = x.parentGraph()) {
            if (x == outer) {
                return true;
            }
        }
        return false;
    }

    // ---- schemas ----

    private void checkSchema(Node n, String path, int i, Map<String, Long> opsets) {
        String domain = n.isOnnxDomain() ? "" : n.domain();
        Long version = opsets.get(domain);
        if (version == null) {
            if (!localFunctions.contains(n.domain() + "::" + n.opType())) {
                error(path, i, n, "domain '" + displayDomain(domain) + "' is not imported");
            }
            return;
        }
        Optional<OpSchema> schema = OpSchema.find(domain, n.opType());
        if (schema.isEmpty()) {
            if (domain.isEmpty() && !localFunctions.contains(n.domain() + "::" + n.opType())) {
                warning(path, i, n, "op '" + n.opType() + "' is not in slimnx's schema table");
            }
            return;
        }
        OpSchema s = schema.get();
        Optional<OpSchema.Signature> sig = s.signatureAt(version);
        if (sig.isEmpty()) {
            String why = s.removedIn() != 0 && version >= s.removedIn()
                    ? "was removed at opset " + s.removedIn()
                    : "exists from opset " + s.sinceVersions()[0];
            error(path, i, n, n.opType() + " does not exist at the imported opset " + version + " of domain '"
                    + displayDomain(domain) + "' (it " + why + "; versions " + Arrays.toString(s.sinceVersions()) + ")");
            return;
        }
        OpSchema.Signature g = sig.get();
        String ver = n.opType() + "-" + s.versionAt(version).orElseThrow();
        int inputs = countPresent(n.inputs());
        if (inputs < g.minInputs() || n.inputs().size() > g.maxInputs()) {
            error(path, i, n, ver + " takes " + range(g.minInputs(), g.maxInputs()) + " inputs, the node has "
                    + n.inputs().size() + (inputs != n.inputs().size() ? " (" + inputs + " before trailing omitted ones)" : ""));
        }
        int outputs = countNamedPrefix(n.outputs());
        if (outputs < g.minOutputs() || n.outputs().size() > g.maxOutputs()) {
            error(path, i, n, ver + " has " + range(g.minOutputs(), g.maxOutputs()) + " outputs, the node has "
                    + n.outputs().size());
        }
        for (String attr : g.requiredAttributes()) {
            if (n.attribute(attr) == null) {
                error(path, i, n, ver + " requires attribute '" + attr + "', which is missing");
            }
        }
    }

    /** Inputs up to the last one present (omitted optional inputs at the end do not count). */
    private static int countPresent(List<Value> inputs) {
        int last = inputs.size();
        while (last > 0 && inputs.get(last - 1) == null) {
            last--;
        }
        return last;
    }

    private static int countNamedPrefix(List<Value> outputs) {
        int last = outputs.size();
        while (last > 0 && outputs.get(last - 1).name().isEmpty()) {
            last--;
        }
        return last;
    }

    private static String range(int min, int max) {
        if (max == OpSchema.VARIADIC) {
            return "at least " + min;
        }
        return min == max ? Integer.toString(min) : min + " to " + max;
    }

    private static String displayDomain(String domain) {
        return domain.isEmpty() ? "ai.onnx" : domain;
    }

    // ---- reporting ----

    private void add(Issue.Severity severity, String path, int nodeIndex, String node, String message) {
        issues.add(new Issue(severity, path, nodeIndex, node, message));
    }

    private void error(String path, String message) {
        add(Issue.Severity.ERROR, path, -1, "", message);
    }

    private void error(String path, int i, Node n, String message) {
        add(Issue.Severity.ERROR, path, i, n.describe(), message);
    }

    private void warning(String path, int i, Node n, String message) {
        add(Issue.Severity.WARNING, path, i, n.describe(), message);
    }
}
