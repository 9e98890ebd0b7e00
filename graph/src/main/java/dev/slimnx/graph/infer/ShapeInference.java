package dev.slimnx.graph.infer;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.ConstantNode;
import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * Shape and element-type inference over a model, with symbolic dims carried through.
 *
 * <p>Nodes are visited in topological order; each op's {@link ShapeRule} (see {@link Rules}) reads
 * the merged types of its inputs, constant inputs (initializers and Constant nodes) and small
 * integer values known from earlier nodes ({@link IntVector}: Shape outputs and what is computed
 * from them), and proposes output types. A proposal is merged with the type the model declares
 * for that value: dim by dim the more specific wins; a conflict keeps the declared type and adds a
 * warning. Ops without a rule, and rules that fail, leave their outputs as declared (or unknown).
 *
 * <p>If and Loop bodies are inferred in place (their values get types too); other subgraphs and
 * function bodies are left alone.
 */
public final class ShapeInference {
    private ShapeInference() {
    }

    /**
     * Infers types without changing the model.
     *
     * @param model the model
     * @return the merged types, known small values and warnings
     */
    public static InferenceResult infer(Model model) {
        Run run = new Run(model);
        run.graph(model.graph());
        return new InferenceResult(run.merged, run.known, run.warnings);
    }

    /**
     * Infers types as if every dim of the main graph's inputs that is not a known number (a symbol
     * such as {@code batch}, or unknown) were {@code dynamicDimValue}, without changing the model.
     * Stats use it to count MACs at batch 1; the result's types of those inputs are the fixed ones.
     *
     * @param model the model
     * @param dynamicDimValue the size to assume for every dynamic input dim
     * @return the inference result under that assumption
     */
    public static InferenceResult inferWithFixedInputDims(Model model, long dynamicDimValue) {
        Run run = new Run(model);
        for (Value in : model.graph().inputs()) {
            if (in.type() instanceof ValueType.TensorType t && t.shape() != null && !t.shape().isStatic()) {
                List<Dim> dims = new ArrayList<>();
                for (Dim d : t.shape().dims()) {
                    dims.add(d.isKnown() ? d : Dim.of(dynamicDimValue));
                }
                run.merged.put(in, t.withShape(Shape.of(dims)));
            }
        }
        run.graph(model.graph());
        return new InferenceResult(run.merged, run.known, run.warnings);
    }

    /**
     * Infers types and writes them onto intermediate values that have none: node outputs that are
     * neither graph outputs nor listed in their graph's {@code value_info}. Declared types are never
     * changed, and no {@code value_info} entry is added, so writing the model back changes nothing
     * the file declared; the annotations are for passes that read {@link Value#type()}.
     *
     * @param model the model, annotated in place
     * @return the inference result
     */
    public static InferenceResult annotate(Model model) {
        InferenceResult result = infer(model);
        annotateGraph(model.graph(), result);
        return result;
    }

    private static void annotateGraph(Graph g, InferenceResult result) {
        java.util.Set<Value> listed = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        listed.addAll(g.valueInfos());
        for (Node n : g.nodes()) {
            for (Value out : n.outputs()) {
                if (!out.name().isEmpty() && out.type() == null && !out.isGraphOutput() && !listed.contains(out)) {
                    out.setType(result.typeOf(out));
                }
            }
            for (Graph sub : n.subgraphs()) {
                annotateGraph(sub, result);
            }
        }
    }

    /** One inference run: the state shared by the rules of every node. */
    static final class Run {
        private final Model model;
        final Map<Value, ValueType> merged = new IdentityHashMap<>();
        final Map<Value, IntVector> known = new IdentityHashMap<>();
        private final Map<Value, Tensor> constants = new IdentityHashMap<>();
        final List<String> warnings = new ArrayList<>();

        Run(Model model) {
            this.model = model;
        }

        ValueType typeOf(Value v) {
            ValueType t = merged.get(v);
            return t != null ? t : v.type();
        }

        Tensor constantOf(Value v) {
            if (constants.containsKey(v)) {
                return constants.get(v);
            }
            Tensor t = v.constant();
            Node p = v.producer();
            if (t == null && p != null && p.is("Constant")) {
                t = ConstantNode.valueOf(p);
            }
            constants.put(v, t);
            return t;
        }

        IntVector intsOf(Value v) {
            IntVector k = known.get(v);
            if (k != null) {
                return k;
            }
            Tensor t = constantOf(v);
            if (t == null || t.rank() > 1 || t.numElements() > NodeContext.MAX_VECTOR
                    || !(t.dataType().isInteger() || t.dataType() == DataType.BOOL)) {
                return null;
            }
            List<Dim> dims = new ArrayList<>();
            for (long x : t.toLongArray()) {
                dims.add(Dim.of(x));
            }
            k = new IntVector(dims, t.rank() == 0);
            known.put(v, k);
            return k;
        }

        void graph(Graph g) {
            for (Value v : g.initializers()) {
                Tensor t = v.initializer();
                propose(v, ValueType.TensorType.of(t.dataType(), t.shape()), "initializer");
            }
            List<Node> order = g.topologicalOrder();
            for (Node n : order != null ? order : g.nodes()) {
                node(n);
            }
        }

        private void node(Node n) {
            long opset = model.opsetVersion(n.isOnnxDomain() ? "" : n.domain());
            ShapeRule rule = Rules.find(n);
            if (rule == null) {
                return;
            }
            NodeContext ctx = new NodeContext(this, n, opset);
            try {
                rule.infer(ctx);
            } catch (RuntimeException e) {
                warnings.add("cannot infer " + n.describe() + ": " + e.getMessage());
                return;
            }
            for (int i = 0; i < n.outputs().size(); i++) {
                Value out = n.output(i);
                if (ctx.outputTypes[i] != null) {
                    propose(out, ctx.outputTypes[i], n.describe());
                }
                if (ctx.outputValues[i] != null) {
                    known.put(out, ctx.outputValues[i]);
                }
            }
        }

        /** Infers a subgraph whose inputs have been given types with {@link #assume}. */
        void subgraph(Graph g) {
            graph(g);
        }

        /** Gives a subgraph input a type (it has no producer to infer it from). */
        void assume(Value v, ValueType t) {
            if (t != null) {
                propose(v, t, "subgraph input");
            }
        }

        private void propose(Value v, ValueType inferred, String source) {
            ValueType declared = v.type();
            merged.put(v, merge(v, declared, inferred, source));
        }

        private ValueType merge(Value v, ValueType declared, ValueType inferred, String source) {
            if (declared == null || declared instanceof ValueType.UnsetType) {
                return inferred;
            }
            if (!(declared instanceof ValueType.TensorType d) || !(inferred instanceof ValueType.TensorType i)) {
                return declared;
            }
            DataType elem = d.elemType();
            if (elem == DataType.UNDEFINED) {
                elem = i.elemType();
            } else if (i.elemType() != DataType.UNDEFINED && i.elemType() != elem) {
                warn(v, "declared element type " + elem + " but " + source + " gives " + i.elemType());
            }
            Shape shape = d.shape();
            if (shape == null) {
                shape = i.shape();
            } else if (i.shape() != null) {
                if (i.shape().rank() != shape.rank()) {
                    warn(v, "declared shape " + shape + " but " + source + " gives " + i.shape());
                } else {
                    List<Dim> dims = new ArrayList<>();
                    boolean conflict = false;
                    for (int k = 0; k < shape.rank(); k++) {
                        conflict |= Dims.conflict(shape.dim(k), i.shape().dim(k));
                        dims.add(Dims.merge(shape.dim(k), i.shape().dim(k)));
                    }
                    if (conflict) {
                        warn(v, "declared shape " + shape + " but " + source + " gives " + i.shape());
                    }
                    shape = Shape.of(dims);
                }
            }
            return new ValueType.TensorType(elem, shape, d.denotation(), d.extra());
        }

        private void warn(Value v, String message) {
            warnings.add("'" + v.name() + "': " + message + " (keeping the declared type)");
        }

        /** @return the node's GRAPH attribute, or null */
        static Graph body(Node n, String name) {
            Attribute a = n.attribute(name);
            return a == null || a.subgraphs().isEmpty() ? null : a.subgraphs().get(0);
        }
    }
}
