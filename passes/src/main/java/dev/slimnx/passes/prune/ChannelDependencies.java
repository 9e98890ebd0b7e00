package dev.slimnx.passes.prune;

import dev.slimnx.graph.Graph;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Use;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.infer.ShapeInference;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Finds channel groups: the closure of the channels coupled to a seed, built with an explicit
 * worklist over the IR.
 *
 * <p>Each member taken off the worklist is followed to its producer (the group reached one of its
 * outputs) and to each of its uses (the group reached one of their inputs); the {@link
 * ChannelHandler} registered for that op type says which other inputs and outputs of the node are
 * coupled, and on which axis. A value reached again must be reached on the same axis with the same
 * map, or the group is refused. Constants (initializers, {@code Constant} nodes) end the walk
 * backwards; their other uses are followed, so a weight shared by two nodes couples both.
 *
 * <p>The group is refused, with the node and op named, when it reaches an op without a handler
 * (or of another domain), a node holding a subgraph or inside one, a graph input or output (the
 * model's interface does not change), an initializer that is also a graph input (its value may be
 * overridden), a value of unknown shape, or anything a handler refuses. Shapes come from one run of
 * {@link ShapeInference} when the analysis is created: analyse again after pruning.
 */
public final class ChannelDependencies {
    /**
     * @param embedDim let groups cross LayerNormalization's normalised axes: the residual width,
     *     which couples every block of a transformer. Off by default: such a group is refused.
     */
    public record Options(boolean embedDim) {
        /** @return groups stop at the embedding width */
        public static Options defaults() {
            return new Options(false);
        }
    }

    private final Model model;
    private final Graph graph;
    private final ChannelHandlers handlers;
    private final Options options;
    private final InferenceResult shapes;
    private final long opset;

    /**
     * @param model the model; shapes are inferred now, so analyse again after changing it
     */
    public ChannelDependencies(Model model) {
        this(model, ChannelHandlers.standard(), Options.defaults());
    }

    /**
     * @param model the model
     * @param handlers the per-op rules
     * @param options what the analysis may cross
     */
    public ChannelDependencies(Model model, ChannelHandlers handlers, Options options) {
        this.model = Objects.requireNonNull(model, "model");
        this.graph = model.graph();
        this.handlers = Objects.requireNonNull(handlers, "handlers");
        this.options = Objects.requireNonNull(options, "options");
        this.shapes = ShapeInference.infer(model);
        this.opset = model.opsetVersion("");
    }

    /** @return the model analysed */
    public Model model() {
        return model;
    }

    /** @return the shapes the analysis works with */
    public InferenceResult shapes() {
        return shapes;
    }

    /**
     * The group of all channels along one axis of a tensor.
     *
     * @param value a weight or activation of the main graph
     * @param axis its axis (negative counts from the end)
     * @return the group, prunable or refused
     * @throws IllegalArgumentException when the value's rank or that axis's length is unknown
     */
    public ChannelGroup groupOf(Value value, int axis) {
        Shape s = shapeOf(value);
        if (s == null) {
            throw new IllegalArgumentException("the rank of '" + value.name() + "' is unknown");
        }
        int a = axis < 0 ? axis + s.rank() : axis;
        if (a < 0 || a >= s.rank() || !s.dim(a).isKnown()) {
            throw new IllegalArgumentException("axis " + axis + " of '" + value.name() + "' " + s + " has no known length");
        }
        return group(value, a, ChannelMap.identity(), (int) s.dim(a).value());
    }

    /**
     * The group of {@code width} channels placed along an axis by a map (per-head dims of a flat
     * axis, whole heads, part of a concatenated axis).
     *
     * @param value a weight or activation of the main graph
     * @param axis its axis, in [0, rank)
     * @param map where the channels sit
     * @param width channels in the group
     * @return the group, prunable or refused
     * @throws IllegalArgumentException when the axis is unknown or the map does not fit it
     */
    public ChannelGroup group(Value value, int axis, ChannelMap map, int width) {
        Shape s = shapeOf(value);
        if (s == null || axis < 0 || axis >= s.rank() || !s.dim(axis).isKnown()) {
            throw new IllegalArgumentException("axis " + axis + " of '" + value.name() + "' has no known length");
        }
        int length = Math.toIntExact(s.dim(axis).value());
        String misfit = map.misfit(width, length);
        if (width < 1 || misfit != null) {
            throw new IllegalArgumentException("a group of " + width + " channels does not fit axis " + axis + " of '"
                    + value.name() + "': " + (width < 1 ? "no channels" : misfit));
        }
        return new Walk(width).run(new ChannelMember(value, axis, map, length, false));
    }

    private Shape shapeOf(Value v) {
        Tensor t = GraphEdits.constant(v);
        return t != null ? t.shape() : shapes.shapeOf(v);
    }

    /** One worklist run from one seed. */
    private final class Walk {
        private final int width;
        private final Map<Value, ChannelMember> members = new LinkedHashMap<>();
        private final Deque<ChannelMember> work = new ArrayDeque<>();
        private final Set<Node> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        private final List<Node> nodes = new ArrayList<>();
        private final Set<Node> rewritten = Collections.newSetFromMap(new IdentityHashMap<>());
        private final List<Node> rewrittenOrder = new ArrayList<>();
        private final Map<Node, Set<String>> visitedPorts = new IdentityHashMap<>();
        private String refusal;

        Walk(int width) {
            this.width = width;
        }

        ChannelGroup run(ChannelMember seed) {
            add(seed.value(), seed.axis(), seed.map(), seed.statistic(), null);
            while (!work.isEmpty() && refusal == null) {
                ChannelMember m = work.poll();
                follow(m);
            }
            return new ChannelGroup(members.values().iterator().next(), width, members, nodes, rewrittenOrder,
                    refusal);
        }

        private void follow(ChannelMember m) {
            Value v = m.value();
            if (v.isGraphOutput()) {
                refuse("the channels reach graph output '" + v.name() + "'");
                return;
            }
            if (v.isGraphInput()) {
                refuse(v.isInitializer() ? "initializer '" + v.name() + "' is also a graph input (its value may be overridden)"
                        : "the channels reach graph input '" + v.name() + "'");
                return;
            }
            if (v.graph() != graph) {
                refuse("'" + v.name() + "' is inside a subgraph");
                return;
            }
            Node producer = v.producer();
            boolean constant = GraphEdits.constant(v) != null;
            if (constant && producer != null && producer.attribute("value") == null) {
                refuse("Constant '" + producer.name() + "' holds its value in an attribute other than 'value'");
                return;
            }
            if (producer != null && !constant) {
                visit(producer, false, v.producerIndex(), m);
            }
            for (Use u : List.copyOf(v.uses())) {
                if (refusal != null) {
                    return;
                }
                if (u.node().graph() != graph) {
                    refuse("'" + v.name() + "' is read inside the subgraph of " + u.node().graph().parentNode().describe());
                    return;
                }
                visit(u.node(), true, u.inputIndex(), m);
            }
        }

        private void visit(Node node, boolean atInput, int port, ChannelMember m) {
            if (!visitedPorts.computeIfAbsent(node, k -> new java.util.HashSet<>()).add((atInput ? "in" : "out") + port)) {
                return;
            }
            if (visited.add(node)) {
                nodes.add(node);
            }
            if (!node.subgraphs().isEmpty()) {
                refuse(node.describe() + " holds a subgraph");
                return;
            }
            ChannelHandler h = handlers.handlerFor(node);
            if (h == null) {
                refuse("no channel rule for " + node.describe() + (node.isOnnxDomain() ? "" : " (domain " + node.domain() + ")"));
                return;
            }
            ChannelContext ctx = new ChannelContext(node, atInput, port, m, width, shapes, opset, options.embedDim());
            h.couple(ctx);
            if (ctx.refusal != null) {
                refuse(node.describe() + ": " + ctx.refusal);
                return;
            }
            if (ctx.rewrites && rewritten.add(node)) {
                rewrittenOrder.add(node);
            }
            for (ChannelContext.Coupling c : ctx.couplings) {
                Value target = c.input() ? node.input(c.port()) : node.output(c.port());
                if (target == null) {
                    continue;
                }
                add(target, c.axis(), c.map(), c.statistic(), node);
                if (refusal != null) {
                    return;
                }
            }
        }

        private void add(Value v, int axis, ChannelMap map, boolean statistic, Node via) {
            ChannelMember existing = members.get(v);
            if (existing != null) {
                if (existing.axis() != axis || !existing.map().equals(map)) {
                    refuse((via == null ? "" : via.describe() + ": ") + "'" + v.name() + "' is reached on axis "
                            + existing.axis() + " (" + existing.map() + ") and on axis " + axis + " (" + map + ")");
                }
                return;
            }
            Shape s = shapeOf(v);
            if (s == null || axis < 0 || axis >= s.rank()) {
                refuse((via == null ? "" : via.describe() + ": ") + "the shape of '" + v.name() + "' is unknown");
                return;
            }
            Dim d = s.dim(axis);
            if (!d.isKnown()) {
                refuse((via == null ? "" : via.describe() + ": ") + "the channel axis " + axis + " of '" + v.name()
                        + "' " + s + " has no known length");
                return;
            }
            int length = Math.toIntExact(d.value());
            String misfit = map.misfit(width, length);
            if (misfit != null) {
                refuse((via == null ? "" : via.describe() + ": ") + "on '" + v.name() + "': " + misfit);
                return;
            }
            ChannelMember m = new ChannelMember(v, axis, map, length, statistic);
            members.put(v, m);
            work.add(m);
        }

        private void refuse(String why) {
            if (refusal == null) {
                refusal = why;
            }
        }
    }
}
