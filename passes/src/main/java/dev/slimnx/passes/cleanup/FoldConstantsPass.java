package dev.slimnx.passes.cleanup;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.Pass;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassDescriptor;
import dev.slimnx.passes.PassOption;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.RewriteCounter;
import dev.slimnx.runtime.ModelRunner;
import dev.slimnx.runtime.RuntimeFailure;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * {@code fold-constants}: evaluates the parts of the main graph whose inputs are all constant and
 * stores their results as initializers. Lossless: ONNX Runtime computes the folded values, the same
 * way it would compute them on every run.
 *
 * <p>What it does, in order:
 * <ol>
 *   <li><b>Constant nodes become initializers</b> (kind {@code Constant}), so later passes see one
 *       kind of constant. A {@code Constant} holding a sparse tensor or strings stays a node.</li>
 *   <li><b>Shapes known from inference</b> ({@link ShapeInference#infer}) are computed here, not
 *       by ONNX Runtime: {@code Shape} (its {@code start}/{@code end} attributes from opset 15) when
 *       every dim it returns is a known number, {@code Size} when the whole shape is, and the
 *       common partial case: a {@code Gather} (axis 0, constant indices) or {@code Slice} (constant
 *       starts, ends, axes, steps) reading a {@code Shape} output and picking only known dims. For
 *       {@code x: [batch, 16, 64]}, {@code Gather(Shape(x), 1)} folds to {@code 16}, while
 *       {@code Gather(Shape(x), 0)} stays: a symbolic dim is never turned into a number. A
 *       {@code Shape} left without readers by such folds is removed.</li>
 *   <li><b>Everything computable from constants</b>: a node of the default ONNX domain whose
 *       inputs are all initializers or values folded in this pass. These nodes form subgraphs; the
 *       values they hand to the rest of the graph (read by a node that is not folded, or a graph
 *       output) are computed by one ONNX Runtime session per round ({@link PassContext#open}) on a
 *       small model made of the foldable nodes, their constant inputs as initializers and those
 *       values as outputs. The folded nodes are removed, and so are the initializers only they read.</li>
 * </ol>
 *
 * <p>Last, a {@code Reshape} whose target is computed from shapes at run time gets a constant
 * target with 0 for the dims it keeps (kind {@code Reshape target}, see {@link StaticReshapeTarget});
 * the chain that computed the target is left for {@code dead-code}.
 *
 * <p>Never folded: random ops ({@code RandomNormal}, {@code RandomUniform}, {@code RandomNormalLike},
 * {@code RandomUniformLike}, {@code Multinomial}, {@code Bernoulli}) and {@code Dropout} (random when
 * its {@code training_mode} is true); ops of other domains; nodes holding subgraphs; values of an
 * element type the ONNX Runtime Java API cannot return (it returns FLOAT, DOUBLE, FLOAT16, BFLOAT16,
 * INT8, UINT8, INT16, INT32, INT64 and BOOL tensors; a value of another type stays computed, and what
 * feeds it may still fold); graph inputs, even those with an initializer default (a caller may feed
 * them); nodes in subgraphs; nodes whose outputs nobody reads (that is {@code dead-code}'s work);
 * arithmetic (a {@code Cast} included) yielding float16, bfloat16 or a float8/float4 type, since ONNX
 * Runtime's CPU provider computes those in float32 and so may not round where ONNX says (only ops that
 * move data fold such values).
 * When ONNX Runtime fails on the batch, each value is retried alone and those that still fail stay.
 *
 * <p><b>Size cap.</b> Folding must not inflate the model. Let {@code b(x)} be the bytes of a tensor.
 * A folded value {@code v} frees the initializers its subgraph reads that nothing unfolded reads,
 * {@code F(v)}; an initializer freed by the subgraphs of {@code k(c)} folded values is shared among
 * them. Then {@code v} is folded only when
 * <pre>
 *     b(v) &lt;= sum over c in F(v) of b(c) / k(c)  +  max-growth-bytes
 * </pre>
 * so summed over the {@code n} folded values, bytes added minus bytes freed is at most
 * {@code n * max-growth-bytes}. {@code Add(W, B)} of two weights folds whatever their size (it frees
 * both); an {@code Expand} of a scalar or a {@code ConstantOfShape} to a tensor bigger than the cap,
 * or a transpose bigger than the cap of a weight that other nodes also read, does not. A value that does not fit stays computed, and the
 * values its producer reads are considered in its place (a {@code Shape → ... → ConstantOfShape}
 * chain still folds up to the shape). Sizes come from inferred shapes before evaluation and are
 * checked again on the values ONNX Runtime returns.
 *
 * <p>Graph outputs keep their names: a folded graph output becomes an initializer of the same name
 * (an initializer may be a graph output). Each round removes nodes, and rounds repeat until one
 * folds nothing (a value refused for its size can be reconsidered once what feeds it is constant),
 * so a second run changes nothing. Models of IR version below 4, where every initializer must also be
 * a graph input, are left unchanged.
 */
public final class FoldConstantsPass implements Pass {
    /** The pass id. */
    public static final String ID = "fold-constants";

    /** 64 KiB: enough for every shape computation, far below a weight matrix. */
    public static final long DEFAULT_MAX_GROWTH_BYTES = 64L << 10;

    /** How the CLI and recipes find this pass. */
    public static final PassDescriptor DESCRIPTOR = new PassDescriptor(ID,
            "evaluates subgraphs whose inputs are all constant and stores their results as initializers", true,
            List.of(new PassOption("max-growth-bytes",
                    "bytes a folded value may take beyond the constants it frees (k, M, G suffixes)", "64k")),
            o -> new FoldConstantsPass(new Options(o.longValue("max-growth-bytes"))));

    private static final System.Logger LOG = System.getLogger(FoldConstantsPass.class.getName());

    /** Ops whose outputs are not a function of their inputs. */
    private static final Set<String> NONDETERMINISTIC = Set.of("RandomNormal", "RandomUniform", "RandomNormalLike",
            "RandomUniformLike", "Multinomial", "Bernoulli", "Dropout");

    /**
     * Float types narrower than float32. NOTE: ONNX Runtime's CPU provider runs many ops of these
     * types in float32 and removes the cast pairs around them, even with its optimizations off, so
     * how precise an unfolded chain comes out depends on the graph around it; a folded value has the
     * rounding ONNX specifies and may differ from that by the type's precision. Only ops that move
     * data (exact in any precision) fold values of these types.
     */
    private static final Set<DataType> NARROW_FLOATS = Collections.unmodifiableSet(EnumSet.of(DataType.FLOAT16,
            DataType.BFLOAT16, DataType.FLOAT8E4M3FN, DataType.FLOAT8E4M3FNUZ, DataType.FLOAT8E5M2,
            DataType.FLOAT8E5M2FNUZ, DataType.FLOAT4E2M1, DataType.FLOAT8E8M0));

    /** Ops whose outputs are elements of their inputs (or of a constant attribute), rearranged. */
    private static final Set<String> DATA_MOVEMENT = Set.of("Identity", "Reshape", "Transpose", "Squeeze",
            "Unsqueeze", "Flatten", "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Expand",
            "Tile", "Pad", "DepthToSpace", "SpaceToDepth", "ConstantOfShape", "Where");

    /** Element types the ONNX Runtime Java API hands back (see the runtime's TensorBridge). */
    private static final Set<DataType> RETURNABLE = Collections.unmodifiableSet(EnumSet.of(DataType.FLOAT,
            DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16, DataType.INT8, DataType.UINT8, DataType.INT16,
            DataType.INT32, DataType.INT64, DataType.BOOL));

    /**
     * Options of {@code fold-constants}.
     *
     * @param maxGrowthBytes bytes a folded value may take beyond its share of the constants it frees
     */
    public record Options(long maxGrowthBytes) {
        /** @throws IllegalArgumentException if maxGrowthBytes is negative */
        public Options {
            if (maxGrowthBytes < 0) {
                throw new IllegalArgumentException("max-growth-bytes must be at least 0, got " + maxGrowthBytes);
            }
        }

        /** @return {@value #DEFAULT_MAX_GROWTH_BYTES} bytes of growth per folded value */
        public static Options defaults() {
            return new Options(DEFAULT_MAX_GROWTH_BYTES);
        }
    }

    private final Options options;

    /** With {@link Options#defaults()}. */
    public FoldConstantsPass() {
        this(Options.defaults());
    }

    /** @param options the size cap */
    public FoldConstantsPass(Options options) {
        this.options = Objects.requireNonNull(options, "options");
    }

    /** @return the options */
    public Options options() {
        return options;
    }

    @Override
    public String id() {
        return ID;
    }

    @Override
    public PassResult run(Model model, PassContext context) {
        RewriteCounter counter = new RewriteCounter(ID);
        if (model.irVersion() < 4) {
            LOG.log(System.Logger.Level.DEBUG, "IR version {0}: initializers must be graph inputs there; nothing folded",
                    model.irVersion());
            return counter.result();
        }
        for (Node n : List.copyOf(model.graph().nodes())) {
            counter.countIf("Constant", tryFoldConstantNode(n));
        }
        int rounds = 0;
        // NOTE: every round that folds removes nodes, so this ends.
        while (new Round(model, context, options.maxGrowthBytes()).tryFold(counter)) {
            rounds++;
        }
        InferenceResult shapes = ShapeInference.infer(model);
        for (Node n : model.graph().nodes()) {
            counter.countIf("Reshape target", StaticReshapeTarget.tryMakeStatic(n, shapes));
        }
        LOG.log(System.Logger.Level.DEBUG, "{0}: {1} folding round(s), {2}", ID, rounds, counter.result().summary());
        return counter.result();
    }

    /** Replaces a {@code Constant} node by an initializer of the same name. */
    private static boolean tryFoldConstantNode(Node n) {
        if (!n.is("Constant") || n.outputs().size() != 1 || n.output(0).name().isEmpty()) {
            return false;
        }
        Tensor t = GraphEdits.constant(n.output(0));
        if (t == null) {
            return false;
        }
        GraphEdits.replaceWithConstant(n.output(0), t);
        n.graph().removeNode(n);
        return true;
    }

    private static boolean isDead(Node n) {
        for (Value out : n.outputs()) {
            if (!out.uses().isEmpty() || out.isGraphOutput()) {
                return false;
            }
        }
        return true;
    }

    private static <T> Set<T> identitySet() {
        return Collections.newSetFromMap(new IdentityHashMap<>());
    }

    /**
     * One round: plan what folds, check it against the size cap and the runtime, then rewrite. All
     * checks (evaluation included) end before the first change to the graph.
     */
    private static final class Round {
        private final Model model;
        private final Graph g;
        private final PassContext context;
        private final long cap;
        private final long opset;
        private final InferenceResult inference;
        private final List<Node> order;
        /** Nodes that must not fold this round: too big, not returnable, or ONNX Runtime failed on them. */
        private final Set<Node> excluded = identitySet();
        /** Values already known: computed from shapes, or returned by ONNX Runtime. */
        private final Map<Value, Tensor> known = new IdentityHashMap<>();
        /** Per node, its output computed from inferred shapes (null when it is not such a node). */
        private final ShapeDerivedValues fromShapes;

        // The current plan.
        private Set<Node> fold;
        private List<Node> foldOrder;
        private List<Value> frontier;
        private Map<Value, Double> credit;

        Round(Model model, PassContext context, long cap) {
            this.model = model;
            this.g = model.graph();
            this.context = context;
            this.cap = cap;
            this.opset = model.opsetVersion("");
            this.inference = ShapeInference.infer(model);
            this.fromShapes = new ShapeDerivedValues(inference, opset);
            this.order = g.topologicalOrder();
        }

        boolean tryFold(RewriteCounter counter) {
            if (order == null) {
                return false;
            }
            while (true) {
                plan();
                if (frontier.isEmpty()) {
                    return false;
                }
                if (exclude(staticRejects())) {
                    continue;
                }
                if (!evaluateMissing()) {
                    continue;
                }
                if (exclude(sizeRejects())) {
                    continue;
                }
                apply(counter);
                return true;
            }
        }

        // ---- planning ----

        private void plan() {
            fold = identitySet();
            foldOrder = new ArrayList<>();
            for (Node n : order) {
                if (excluded.contains(n) || isDead(n)) {
                    continue;
                }
                Tensor t = fromShapes.fromShape(n);
                if (t != null) {
                    known.put(n.output(0), t);
                }
                if (t != null || isEvaluable(n)) {
                    fold.add(n);
                    foldOrder.add(n);
                }
            }
            frontier = new ArrayList<>();
            for (Node n : foldOrder) {
                for (Value out : n.outputs()) {
                    if (!out.name().isEmpty() && (out.isGraphOutput() || readOutsideFold(out))) {
                        frontier.add(out);
                    }
                }
            }
            Map<Value, Set<Value>> leavesOf = new IdentityHashMap<>();
            Map<Value, Integer> share = new IdentityHashMap<>();
            for (Value v : frontier) {
                Set<Value> leaves = constantLeaves(v);
                leavesOf.put(v, leaves);
                for (Value c : leaves) {
                    share.merge(c, 1, Integer::sum);
                }
            }
            credit = new IdentityHashMap<>();
            for (Value v : frontier) {
                double freed = 0;
                for (Value c : leavesOf.get(v)) {
                    if (isFreed(c)) {
                        freed += (double) c.constant().byteSize() / share.get(c);
                    }
                }
                credit.put(v, freed);
            }
        }

        /**
         * A node ONNX Runtime may compute now: default domain, deterministic, every input constant or
         * folded, and no arithmetic that yields a narrow float type.
         */
        private boolean isEvaluable(Node n) {
            if (!n.isOnnxDomain() || n.is("Constant") || NONDETERMINISTIC.contains(n.opType())
                    || !n.subgraphs().isEmpty()) {
                return false;
            }
            if (!DATA_MOVEMENT.contains(n.opType())) {
                for (Value out : n.outputs()) {
                    if (NARROW_FLOATS.contains(inference.elemTypeOf(out))) {
                        return false;
                    }
                }
            }
            boolean anyInput = false;
            for (Value in : n.inputs()) {
                if (in == null) {
                    continue;
                }
                if (in.constant() == null && (in.producer() == null || !fold.contains(in.producer()))) {
                    return false;
                }
                anyInput = true;
            }
            return anyInput;
        }

        private boolean readOutsideFold(Value v) {
            return v.uses().stream().anyMatch(u -> !fold.contains(u.node()));
        }

        /** The initializers the folded subgraph behind {@code v} reads. */
        private Set<Value> constantLeaves(Value v) {
            Set<Value> leaves = new LinkedHashSet<>();
            Set<Node> seen = identitySet();
            Deque<Node> work = new ArrayDeque<>();
            work.push(v.producer());
            while (!work.isEmpty()) {
                Node n = work.pop();
                if (!seen.add(n)) {
                    continue;
                }
                for (Value in : n.inputs()) {
                    if (in == null) {
                        continue;
                    }
                    if (in.constant() != null) {
                        leaves.add(in);
                    } else if (in.producer() != null && fold.contains(in.producer())) {
                        work.push(in.producer());
                    }
                }
            }
            return leaves;
        }

        /** True when only folded nodes read this initializer, so folding removes it. */
        private boolean isFreed(Value c) {
            return !c.isGraphOutput() && c.uses().stream().allMatch(u -> fold.contains(u.node()));
        }

        // ---- checks ----

        private boolean exclude(List<Value> rejected) {
            for (Value v : rejected) {
                excluded.add(v.producer());
            }
            return !rejected.isEmpty();
        }

        /** Values refused before evaluation: not a tensor, a type ORT cannot return, or known to be too big. */
        private List<Value> staticRejects() {
            List<Value> out = new ArrayList<>();
            for (Value v : frontier) {
                String why = null;
                ValueType type = inference.typeOf(v);
                DataType elem = inference.elemTypeOf(v);
                long bytes = bytesOf(v);
                if (type != null && !(type instanceof ValueType.TensorType) && !(type instanceof ValueType.UnsetType)) {
                    why = "it is not a tensor";
                } else if (elem != null && !RETURNABLE.contains(elem)) {
                    why = "ONNX Runtime's Java API cannot return " + elem;
                } else if (bytes >= 0 && !fits(v, bytes)) {
                    why = tooBig(v, bytes);
                }
                if (why != null) {
                    LOG.log(System.Logger.Level.DEBUG, "not folding ''{0}'': {1}", v.name(), why);
                    out.add(v);
                }
            }
            return out;
        }

        /** Values refused after evaluation: bigger than the cap allows. */
        private List<Value> sizeRejects() {
            List<Value> out = new ArrayList<>();
            for (Value v : frontier) {
                long bytes = known.get(v).byteSize();
                if (!fits(v, bytes)) {
                    LOG.log(System.Logger.Level.DEBUG, "not folding ''{0}'': {1}", v.name(), tooBig(v, bytes));
                    out.add(v);
                }
            }
            return out;
        }

        private boolean fits(Value v, long bytes) {
            return bytes <= credit.get(v) + cap;
        }

        private String tooBig(Value v, long bytes) {
            return bytes + " bytes against " + Math.round(credit.get(v)) + " bytes freed + " + cap + " allowed growth";
        }

        /** @return the bytes of a value, from its known tensor or its inferred type; -1 when unknown */
        private long bytesOf(Value v) {
            Tensor t = known.get(v);
            if (t != null) {
                return t.byteSize();
            }
            DataType type = inference.elemTypeOf(v);
            Shape s = inference.shapeOf(v);
            if (type == null || type.bits() == 0 || s == null) {
                return -1;
            }
            long[] sizes = ShapeDerivedValues.knownSizes(s.dims());
            if (sizes == null) {
                return -1;
            }
            try {
                return type.byteSize(Tensor.elementCount(sizes));
            } catch (ArithmeticException e) {
                return Long.MAX_VALUE;
            }
        }

        // ---- evaluation ----

        /**
         * Asks ONNX Runtime for the frontier values not known yet: all in one session, and one by one
         * when that fails.
         *
         * @return false when some value could not be computed (its producer is excluded; plan again)
         */
        private boolean evaluateMissing() {
            List<Value> missing = frontier.stream().filter(v -> !known.containsKey(v)).toList();
            if (missing.isEmpty()) {
                return true;
            }
            try {
                known.putAll(evaluate(missing));
                return true;
            } catch (RuntimeFailure batch) {
                LOG.log(System.Logger.Level.DEBUG, "evaluating {0} values at once failed ({1}); trying one by one",
                        missing.size(), batch.getMessage());
            }
            boolean all = true;
            for (Value v : missing) {
                try {
                    known.putAll(evaluate(List.of(v)));
                } catch (RuntimeFailure e) {
                    LOG.log(System.Logger.Level.DEBUG, "not folding ''{0}'': {1}", v.name(), e.getMessage());
                    excluded.add(v.producer());
                    all = false;
                }
            }
            return all;
        }

        /** Runs the folded nodes behind {@code outputs} as a model of their own. */
        private Map<Value, Tensor> evaluate(List<Value> outputs) {
            Set<Node> needed = identitySet();
            Deque<Value> work = new ArrayDeque<>(outputs);
            while (!work.isEmpty()) {
                Value v = work.pop();
                Node p = v.producer();
                if (known.containsKey(v) || p == null || !needed.add(p)) {
                    continue;
                }
                if (!fold.contains(p)) {
                    throw new IllegalStateException("'" + v.name() + "' is neither constant nor folded");
                }
                for (Value in : p.inputs()) {
                    if (in != null) {
                        work.push(in);
                    }
                }
            }
            Graph sub = new Graph();
            sub.setName(ID);
            Map<Value, Value> copies = new IdentityHashMap<>();
            for (Node n : order) {
                if (!needed.contains(n)) {
                    continue;
                }
                List<Value> ins = new ArrayList<>();
                for (Value in : n.inputs()) {
                    ins.add(in == null ? null : copyInput(in, sub, copies));
                }
                List<Value> outs = new ArrayList<>();
                for (Value out : n.outputs()) {
                    Value c = new Value(out.name());
                    copies.put(out, c);
                    outs.add(c);
                }
                Node c = new Node(n.domain(), n.opType(), ins, outs, n.attributes());
                c.setName(n.name());
                sub.addNode(c);
            }
            for (Value v : outputs) {
                sub.addOutput(copies.get(v));
            }
            Model small = new Model(model.irVersion(), sub);
            small.opsetImports().addAll(model.opsetImports());
            Map<Value, Tensor> result = new IdentityHashMap<>();
            try (ModelRunner runner = context.open(small)) {
                Map<String, Tensor> values = runner.run(Map.of());
                for (Value v : outputs) {
                    result.put(v, values.get(v.name()));
                }
            }
            return result;
        }

        private Value copyInput(Value in, Graph sub, Map<Value, Value> copies) {
            Value c = copies.get(in);
            if (c == null) {
                Tensor t = known.containsKey(in) ? known.get(in) : in.constant();
                c = sub.addInitializer(t.withName(in.name()));
                copies.put(in, c);
            }
            return c;
        }

        // ---- the rewrite ----

        private void apply(RewriteCounter counter) {
            for (Value v : frontier) {
                LOG.log(System.Logger.Level.DEBUG, "folded ''{0}'' ({1}) into an initializer", v.name(),
                        v.producer().describe());
                GraphEdits.replaceWithConstant(v, known.get(v));
            }
            Set<Value> inputs = new LinkedHashSet<>();
            Set<Value> removed = identitySet();
            for (int i = foldOrder.size() - 1; i >= 0; i--) {
                Node n = foldOrder.get(i);
                for (Value in : n.inputs()) {
                    if (in != null) {
                        inputs.add(in);
                    }
                }
                g.removeNode(n);
                removed.addAll(n.outputs());
                counter.count(n.opType());
            }
            for (Value in : inputs) {
                Node p = in.producer();
                if (p != null && p.graph() == g && p.is("Shape") && isDead(p)) {
                    // Every reader of this Shape picked known dims and was folded.
                    g.removeNode(p);
                    removed.addAll(p.outputs());
                    counter.count("Shape");
                } else {
                    GraphEdits.removeIfUnused(in);
                }
            }
            g.valueInfos().removeIf(removed::contains);
        }
    }
}
