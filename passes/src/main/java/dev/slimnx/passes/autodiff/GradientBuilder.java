package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reverse-mode differentiation of an ONNX graph over slimnx's IR: builds a {@link GradientModel}
 * whose graph is the forward graph followed by a backward graph that ONNX Runtime executes.
 *
 * <p>How: the forward model is copied (never changed); the nodes between the chosen weights and the
 * loss are found ({@link DifferentiablePath}); every one must have a {@link BackwardRule} that
 * accepts it, or the build fails before anything is emitted ({@link NotDifferentiableException});
 * the loss adds its nodes and seeds the output gradient; then the path is walked in reverse
 * topological order, each rule emitting the nodes that turn its outputs' gradients into its
 * inputs' gradients. A value read by several nodes gets the {@code Sum} of their contributions
 * ({@link GradientContributions}: slabs that Gathers, Slices and Splits pass back are joined by one
 * {@code Concat} first). The exported exact GELU, five nodes, is differentiated as one
 * ({@link ErfGelu}).
 * Backward nodes read forward values directly (one graph, nothing saved by hand), and are appended
 * after the forward nodes, which keeps the order topological.
 *
 * <p>The chosen weights become graph inputs (with their initial values kept in the result);
 * every other initializer stays one. The original outputs are dropped unless asked for, and forward
 * nodes that then feed nothing are removed.
 *
 * <p>Requires a default-domain opset of 13 or more (the forms of ReduceSum, Squeeze, Unsqueeze,
 * Split and Softmax the rules emit and assume).
 */
public final class GradientBuilder {
    private static final System.Logger LOG = System.getLogger(GradientBuilder.class.getName());
    /** The first opset with the op forms the rules emit and the Softmax semantics they assume. */
    static final long MIN_OPSET = 13;

    private final BackwardRules rules;

    /** A builder with the {@link BackwardRules#standard() standard} rules. */
    public GradientBuilder() {
        this(BackwardRules.standard());
    }

    /**
     * @param rules the rules to differentiate with
     */
    public GradientBuilder(BackwardRules rules) {
        this.rules = Objects.requireNonNull(rules);
    }

    /**
     * @param forward the forward model; not changed
     * @param spec the loss, its outputs, and what to differentiate
     * @return the gradient model
     * @throws IllegalArgumentException when a named output, weight or value does not exist or has
     *     the wrong type, the loss does not apply to an output, or the opset is below 13
     * @throws NotDifferentiableException when nodes on the path have no rule, or their rule refuses
     *     them; nothing is built
     */
    public GradientModel build(Model forward, GradientSpec spec) {
        long opset = forward.opsetVersion("");
        if (opset < MIN_OPSET) {
            throw new IllegalArgumentException("the gradient builder needs default-domain opset " + MIN_OPSET
                    + " or more; the model imports " + (opset < 0 ? "none" : opset));
        }
        Model model = forward.copy();
        Graph g = model.graph();
        Map<String, Value> byName = g.valuesByName();
        ForwardInfo info = new ForwardInfo(ShapeInference.infer(model), opset);

        List<Value> outputs = resolve(spec.outputs(), byName, "output");
        for (Value o : outputs) {
            String reason = spec.loss().unsupportedReason(o, info);
            if (reason != null) {
                throw new IllegalArgumentException(reason);
            }
        }
        List<Value> values = resolve(spec.values(), byName, "value");
        for (Value v : values) {
            if (v.producer() == null || !isFloat(info.elemType(v)) || info.shape(v) == null) {
                throw new IllegalArgumentException("'" + v.name() + "' is not a FLOAT or DOUBLE node output of known rank");
            }
        }
        List<Value> weights = chooseWeights(g, spec, byName, values, outputs, info, rules);
        List<Value> sources = new ArrayList<>(weights);
        sources.addAll(values);
        DifferentiablePath path = DifferentiablePath.find(g, sources, outputs, info, rules);
        checkRules(path, info);

        Set<Value> forwardValues = identitySet();
        forwardValues.addAll(g.valuesByName().values());
        List<Value> forwardOutputs = new ArrayList<>(g.outputs());
        for (int i = g.outputs().size() - 1; i >= 0; i--) {
            g.removeOutput(i);
        }
        Emission run = new Emission(g, new GraphEmitter(g, opset), info, path, forwardValues);
        String lossName = g.names().fresh("loss");
        List<String> gradNames = new ArrayList<>();
        for (Value s : sources) {
            gradNames.add(g.names().fresh(s.name() + "_grad"));
        }

        // loss terms and seeds
        run.emit.setPrefix("loss");
        Value loss = null;
        List<String> referenceInputs = new ArrayList<>();
        for (Value o : outputs) {
            Loss.Terms t = spec.loss().emit(run.emit, o, info);
            t.referenceInputs().forEach(v -> referenceInputs.add(v.name()));
            run.contribute(o, t.outputGradient());
            loss = loss == null ? t.loss() : run.emit.op("Add", loss, t.loss());
        }

        // weights become inputs (after the loss's reference inputs, as documented)
        List<GradientModel.WeightGradient> entries = new ArrayList<>();
        for (int i = 0; i < weights.size(); i++) {
            Value w = weights.get(i);
            Tensor initial = w.initializer();
            g.removeInitializer(w);
            w.setType(ValueType.TensorType.of(initial.dataType(), initial.shape()));
            if (!w.isGraphInput()) {
                g.addInput(w);
            }
            entries.add(new GradientModel.WeightGradient(w.name(), w.name(), gradNames.get(i), initial));
        }

        run.backward(rules);

        DataType lossType = info.elemType(outputs.get(0));
        run.output(loss, lossName, ValueType.TensorType.of(lossType, Shape.of()));
        Map<String, String> valueGrads = new LinkedHashMap<>();
        for (int i = 0; i < sources.size(); i++) {
            Value s = sources.get(i);
            Value grad = run.gradientOf(s);
            run.output(grad, gradNames.get(i), ValueType.TensorType.of(info.elemType(s), info.shape(s)));
            if (i >= weights.size()) {
                valueGrads.put(s.name(), gradNames.get(i));
            }
        }
        List<String> kept = new ArrayList<>();
        if (spec.keepForwardOutputs()) {
            for (Value o : forwardOutputs) {
                g.addOutput(o);
                kept.add(o.name());
            }
        }
        int removed = removeDeadNodes(g);
        LOG.log(System.Logger.Level.INFO, "gradient of {0} over {1}: {2} weights, {3} backward nodes, {4} dead nodes removed",
                spec.loss().getClass().getSimpleName(), spec.outputs(), weights.size(), run.emitted(), removed);
        return new GradientModel(model, lossName, entries, valueGrads, referenceInputs, kept);
    }

    private static List<Value> resolve(List<String> names, Map<String, Value> byName, String what) {
        List<Value> out = new ArrayList<>();
        for (String n : names) {
            Value v = byName.get(n);
            if (v == null) {
                throw new IllegalArgumentException("no " + what + " named '" + n + "' in the model");
            }
            out.add(v);
        }
        return out;
    }

    private static List<Value> chooseWeights(Graph g, GradientSpec spec, Map<String, Value> byName, List<Value> values,
                                             List<Value> outputs, ForwardInfo info, BackwardRules rules) {
        List<Value> floats = new ArrayList<>();
        for (Value v : g.initializers()) {
            if (isFloat(v.initializer().dataType())) {
                floats.add(v);
            }
        }
        if (!spec.weights().isEmpty()) {
            List<Value> chosen = new ArrayList<>();
            for (String n : spec.weights()) {
                Value v = g.initializer(n);
                if (v == null || !isFloat(v.initializer().dataType())) {
                    List<String> names = floats.stream().map(Value::name).limit(20).toList();
                    throw new IllegalArgumentException("'" + n + "' is not a FLOAT or DOUBLE initializer; "
                            + (byName.containsKey(n) ? "" : "no value has that name; ") + "the float initializers are "
                            + names + (floats.size() > names.size() ? " and " + (floats.size() - names.size()) + " more" : ""));
                }
                chosen.add(v);
            }
            return chosen;
        }
        List<Value> sources = new ArrayList<>(floats);
        sources.addAll(values);
        DifferentiablePath all = DifferentiablePath.find(g, sources, outputs, info, rules);
        return floats.stream().filter(w -> all.reachesLoss(w, outputs)).toList();
    }

    private void checkRules(DifferentiablePath path, ForwardInfo info) {
        Map<String, Integer> missing = new TreeMap<>();
        List<String> refused = new ArrayList<>();
        for (Node n : path.nodes()) {
            BackwardRule rule = rules.ruleFor(n);
            if (rule == null) {
                String op = n.isOnnxDomain() ? n.opType() : n.domain() + "." + n.opType();
                missing.merge(op, 1, Integer::sum);
                continue;
            }
            String reason = rule.unsupportedReason(n, info);
            if (reason != null) {
                refused.add(n.describe() + ": " + reason);
            }
        }
        if (!missing.isEmpty() || !refused.isEmpty()) {
            throw new NotDifferentiableException(missing, refused);
        }
    }

    private static boolean isFloat(DataType t) {
        return t == DataType.FLOAT || t == DataType.DOUBLE;
    }

    /** Removes forward nodes that feed nothing now that the original outputs are gone. */
    private static int removeDeadNodes(Graph g) {
        int removed = 0;
        List<Node> nodes = new ArrayList<>(g.nodes());
        for (int i = nodes.size() - 1; i >= 0; i--) {
            Node n = nodes.get(i);
            if (n.outputs().stream().allMatch(o -> o.uses().isEmpty() && !o.isGraphOutput())) {
                g.removeNode(n);
                g.valueInfos().removeIf(v -> v.producer() == n);
                removed++;
            }
        }
        return removed;
    }

    private static Set<Value> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /** The state of one backward emission: gradient contributions per value. */
    private static final class Emission {
        final Graph graph;
        final GraphEmitter emit;
        final ForwardInfo info;
        final DifferentiablePath path;
        final Set<Value> forwardValues;
        final GradientContributions contributions;
        final Set<Value> claimed = identitySet();
        final int nodesBefore;

        Emission(Graph graph, GraphEmitter emit, ForwardInfo info, DifferentiablePath path, Set<Value> forwardValues) {
            this.graph = graph;
            this.emit = emit;
            this.info = info;
            this.path = path;
            this.forwardValues = forwardValues;
            this.contributions = new GradientContributions(emit, info);
            this.nodesBefore = graph.nodes().size();
        }

        int emitted() {
            return graph.nodes().size() - nodesBefore;
        }

        void contribute(Value forwardValue, Value grad) {
            contributions.add(forwardValue, grad);
        }

        /** @return the summed gradient of a forward value, or null when none reached it */
        Value accumulated(Value v) {
            return contributions.sum(v);
        }

        void backward(BackwardRules rules) {
            List<Node> nodes = path.nodes();
            Map<Node, ErfGelu> gelus = ErfGelu.find(nodes, info, path::dependsOnSource);
            for (int i = nodes.size() - 1; i >= 0; i--) {
                Node n = nodes.get(i);
                emit.setPrefix("grad/" + (n.name().isEmpty() ? n.opType() : n.name()));
                List<Value> outGrads = new ArrayList<>();
                boolean any = false;
                for (Value o : n.outputs()) {
                    Value gr = accumulated(o);
                    outGrads.add(gr);
                    any |= gr != null;
                }
                if (!any) {
                    continue; // its outputs reach the loss only through integer values
                }
                boolean[] needs = new boolean[n.inputs().size()];
                for (int k = 0; k < needs.length; k++) {
                    needs[k] = path.needsGrad(n, k);
                }
                BackwardContext ctx = new BackwardContext(n, emit, info, outGrads, needs, contributions);
                ErfGelu gelu = gelus.get(n);
                if (gelu != null) {
                    // the chain's inner nodes then receive no gradient and are skipped
                    contributions.add(gelu.input(), gelu.inputGrad(ctx, outGrads.get(0)));
                    continue;
                }
                rules.ruleFor(n).emit(ctx);
            }
        }

        /** @return the gradient of a source, zeros when no gradient reached it */
        Value gradientOf(Value source) {
            emit.setPrefix("grad/" + source.name());
            Value gr = accumulated(source);
            if (gr != null) {
                return gr;
            }
            return emit.zeros(emit.shapeOf(source, info.shape(source)), info.elemType(source));
        }

        /**
         * Makes {@code v} a graph output called {@code name}: renamed in place when it is a backward
         * value not yet claimed, else through an Identity (a gradient shared by two weights, or a
         * forward value).
         */
        void output(Value v, String name, ValueType type) {
            Value out = v;
            if (v.producer() == null || forwardValues.contains(v) || claimed.contains(v) || v.isGraphOutput()) {
                out = emit.op("Identity", v);
            }
            claimed.add(out);
            out.setName(name);
            out.setType(type);
            graph.addOutput(out);
        }
    }
}
