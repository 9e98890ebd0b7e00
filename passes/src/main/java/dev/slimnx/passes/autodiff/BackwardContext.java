package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import java.util.List;

/**
 * What a {@link BackwardRule} sees of one node: the gradients of its outputs, which inputs need a
 * gradient, the forward graph's facts, and the emitter its nodes go through. Helpers that many
 * rules share (reducing a broadcast gradient, reshaping to an input's shape, typed scalars) live
 * here so each rule stays a few lines.
 */
public final class BackwardContext {
    private final Node node;
    private final GraphEmitter emit;
    private final ForwardInfo info;
    private final List<Value> outputGrads;
    private final boolean[] needsGrad;
    private final GradientContributions sink;

    BackwardContext(Node node, GraphEmitter emit, ForwardInfo info, List<Value> outputGrads, boolean[] needsGrad,
                    GradientContributions sink) {
        this.node = node;
        this.emit = emit;
        this.info = info;
        this.outputGrads = outputGrads;
        this.needsGrad = needsGrad;
        this.sink = sink;
    }

    /** @return the forward node being differentiated */
    public Node node() {
        return node;
    }

    /** @return the emitter backward nodes go through */
    public GraphEmitter emit() {
        return emit;
    }

    /** @return types, shapes and constants of the forward graph */
    public ForwardInfo info() {
        return info;
    }

    /**
     * @param i input slot
     * @return input {@code i} of the node, or null when omitted (shorthand)
     */
    public Value in(int i) {
        return node.input(i);
    }

    /**
     * @param i output slot
     * @return output {@code i} of the node (shorthand)
     */
    public Value out(int i) {
        return node.output(i);
    }

    /**
     * @param i output slot
     * @return the gradient of the loss with respect to output {@code i}, or null when that output
     *     does not reach the loss
     */
    public Value outputGrad(int i) {
        return i < outputGrads.size() ? outputGrads.get(i) : null;
    }

    /**
     * @param i output slot
     * @return the output's gradient, or zeros of the output's shape when it has none
     */
    public Value outputGradOrZeros(int i) {
        Value g = outputGrad(i);
        if (g != null) {
            return g;
        }
        Value y = out(i);
        return emit.zeros(emit.shapeOf(y, info.shape(y)), dtype(y));
    }

    /**
     * @param i input slot
     * @return true when input {@code i} depends on a chosen weight (or value), so its gradient is wanted
     */
    public boolean needsGrad(int i) {
        return i < needsGrad.length && needsGrad[i];
    }

    /**
     * Contributes a gradient to input {@code i}; contributions from several uses of one value are
     * summed by the builder. Ignored for an input that needs none.
     *
     * @param i input slot
     * @param grad a value of the input's shape
     */
    public void addInputGrad(int i, Value grad) {
        if (needsGrad(i)) {
            sink.add(node.input(i), grad);
        }
    }

    /**
     * Contributes a gradient that is zero outside {@code [start, end)} along one axis of input
     * {@code i} (what a Gather of one index, a Slice or a Split passes back). The builder joins the
     * slabs a value receives into one {@code Concat} instead of padding each to full size.
     * Ignored for an input that needs none.
     *
     * @param i input slot
     * @param axis an axis of the input, whose size is {@link #slabsAllowed known}
     * @param start first index along the axis
     * @param end one past the last
     * @param grad the gradient on the slab: the input's shape with {@code end - start} along the axis
     */
    public void addInputGradSlab(int i, int axis, long start, long end, Value grad) {
        if (needsGrad(i)) {
            sink.addSlab(node.input(i), axis, start, end, grad);
        }
    }

    /**
     * @param i input slot
     * @param axis an axis of the input
     * @return true when {@link #addInputGradSlab} may be used along it (its size is known)
     */
    public boolean slabsAllowed(int i, int axis) {
        return sink.slabsAllowed(node.input(i), axis);
    }

    /**
     * @param v a forward value
     * @return its element type
     * @throws IllegalStateException when inference did not find it
     */
    public DataType dtype(Value v) {
        DataType t = info.elemType(v);
        if (t == null) {
            throw new IllegalStateException("element type of '" + v.name() + "' is unknown");
        }
        return t;
    }

    /**
     * @param v a forward value
     * @return its shape
     * @throws IllegalStateException when its rank is unknown (rules check ranks up front)
     */
    public Shape shape(Value v) {
        Shape s = info.shape(v);
        if (s == null) {
            throw new IllegalStateException("rank of '" + v.name() + "' is unknown");
        }
        return s;
    }

    /**
     * @param value the number
     * @param like a forward value whose element type the scalar takes
     * @return a scalar constant
     */
    public Value scalarLike(double value, Value like) {
        return emit.scalar(value, dtype(like));
    }

    /**
     * @param grad a gradient with as many elements as {@code like}
     * @param like a forward value
     * @return {@code grad} reshaped to the shape of {@code like}
     */
    public Value reshapeLike(Value grad, Value like) {
        return emit.reshape(grad, emit.reshapeTargetOf(like, info.shape(like)));
    }

    /**
     * @param grad a gradient of shape {@code gradShape}, which {@code target}'s shape broadcasts to
     * @param gradShape what is known of the gradient's shape (same rank as the gradient)
     * @param target the forward input the gradient is for
     * @return the gradient summed over the broadcast axes, of {@code target}'s shape
     * @see Broadcasting#reduceTo
     */
    public Value unbroadcast(Value grad, Shape gradShape, Value target) {
        return Broadcasting.reduceTo(emit, grad, gradShape, target, shape(target));
    }
}
