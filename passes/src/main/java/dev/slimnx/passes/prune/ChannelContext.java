package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.infer.InferenceResult;
import dev.slimnx.graph.tensor.Dim;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.List;

/**
 * What a {@link ChannelHandler} sees and may answer: the node, the port and axis a group reached,
 * the shapes the analysis inferred, and the couplings it records.
 */
public final class ChannelContext {
    /**
     * A coupling a handler asked for.
     *
     * @param input true for an input slot, false for an output slot
     * @param port the slot
     * @param axis the channel axis on that slot's value
     * @param map where the channels sit along it
     * @param statistic true for a running mean or variance
     */
    record Coupling(boolean input, int port, int axis, ChannelMap map, boolean statistic) {
    }

    private final Node node;
    private final boolean atInput;
    private final int port;
    private final ChannelMember arrived;
    private final int width;
    private final InferenceResult shapes;
    private final long opset;
    private final boolean embedDim;
    final List<Coupling> couplings = new ArrayList<>();
    boolean rewrites;
    String refusal;

    ChannelContext(Node node, boolean atInput, int port, ChannelMember arrived, int width, InferenceResult shapes,
                   long opset, boolean embedDim) {
        this.node = node;
        this.atInput = atInput;
        this.port = port;
        this.arrived = arrived;
        this.width = width;
        this.shapes = shapes;
        this.opset = opset;
        this.embedDim = embedDim;
    }

    /** @return the node the group reached */
    public Node node() {
        return node;
    }

    /** @return true when the group reached an input of the node, false for an output */
    public boolean atInput() {
        return atInput;
    }

    /** @return the input or output slot the group reached */
    public int port() {
        return port;
    }

    /** @return the channel axis on the value at that slot */
    public int axis() {
        return arrived.axis();
    }

    /** @return where the channels sit along that axis */
    public ChannelMap map() {
        return arrived.map();
    }

    /** @return the length of that axis */
    public int length() {
        return arrived.axisLength();
    }

    /** @return channels in the group */
    public int width() {
        return width;
    }

    /** @return the default-domain opset the model imports */
    public long opset() {
        return opset;
    }

    /** @return true when the analysis may cross the embedding width (LayerNormalization's axes) */
    public boolean embedDim() {
        return embedDim;
    }

    /** @return the shape inferred or declared for a value, or null when its rank is unknown */
    public Shape shape(Value v) {
        if (v == null) {
            return null;
        }
        Tensor t = GraphEdits.constant(v);
        return t != null ? t.shape() : shapes.shapeOf(v);
    }

    /** @return the rank of a value, or -1 when unknown */
    public int rank(Value v) {
        Shape s = shape(v);
        return s == null ? -1 : s.rank();
    }

    /** @return the known size of a value's axis, or -1 when it is symbolic or unknown */
    public long dim(Value v, int axis) {
        Shape s = shape(v);
        if (s == null || axis < 0 || axis >= s.rank()) {
            return -1;
        }
        Dim d = s.dim(axis);
        return d.isKnown() ? d.value() : -1;
    }

    /** @return the constant a value holds (initializer or Constant node), or null */
    public Tensor constant(Value v) {
        return v == null ? null : GraphEdits.constant(v);
    }

    /**
     * @param inputIndex an input that may hold the integers (newer opsets), or -1
     * @param attrName the attribute that holds them (older opsets), or null
     * @return the integers, from the constant input when the node has one there, else the
     *     attribute; null when neither is present or the input is not constant
     */
    public long[] ints(int inputIndex, String attrName) {
        Value v = inputIndex >= 0 ? node.input(inputIndex) : null;
        if (v != null) {
            Tensor t = constant(v);
            return t == null ? null : t.toLongArray();
        }
        return attrName == null ? null : node.intsAttr(attrName);
    }

    /** Couples an input slot. */
    public void input(int index, int axis, ChannelMap map) {
        couplings.add(new Coupling(true, index, axis, map, false));
    }

    /** Couples an input slot holding a running mean or variance (sliced, not a weight). */
    public void statistic(int index, int axis, ChannelMap map) {
        couplings.add(new Coupling(true, index, axis, map, true));
    }

    /** Couples an output slot. */
    public void output(int index, int axis, ChannelMap map) {
        couplings.add(new Coupling(false, index, axis, map, false));
    }

    /** Marks the node as holding a constant or attribute that encodes the width (pruning rewrites it). */
    public void rewrites() {
        rewrites = true;
    }

    /**
     * Refuses the group: it cannot be pruned through this node. The first refusal wins.
     *
     * @param why the reason, without the node (the analysis adds it)
     */
    public void refuse(String why) {
        if (refusal == null) {
            refusal = why;
        }
    }

    /**
     * @param axis an axis attribute, negative counting from the end
     * @param rank the rank it refers to
     * @return the axis in [0, rank)
     */
    static int normalize(int axis, int rank) {
        return axis < 0 ? axis + rank : axis;
    }
}
