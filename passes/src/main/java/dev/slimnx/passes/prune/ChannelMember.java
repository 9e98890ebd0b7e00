package dev.slimnx.passes.prune;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.Objects;

/**
 * One tensor a channel group runs through: the value, the axis its channels lie on, where they
 * sit along it, and the axis length the analysis saw.
 *
 * <p>A member is either a constant (an initializer or a {@code Constant} node's output: a weight,
 * a bias, a normalization parameter), which pruning slices, or an activation (a node output),
 * whose declared type pruning shrinks.
 *
 * @param value the tensor
 * @param axis its channel axis, in [0, rank)
 * @param map where the group's channels sit along that axis
 * @param axisLength the axis length when the group was found
 * @param statistic true for a normalization's running mean or variance: sliced like the rest, but
 *     not a weight, so importance criteria leave it out
 */
public record ChannelMember(Value value, int axis, ChannelMap map, int axisLength, boolean statistic) {
    /** @throws NullPointerException for a missing value or map */
    public ChannelMember {
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(map, "map");
    }

    /** @return the constant's data, or null for an activation */
    public Tensor constant() {
        return GraphEdits.constant(value);
    }

    /** @return true for a constant member (sliced by pruning) */
    public boolean isConstant() {
        return constant() != null;
    }

    /** @return e.g. {@code fc1.weight[axis 1]} or {@code x[axis 2: offset 16]} */
    @Override
    public String toString() {
        return value.name() + "[axis " + axis + (map.isIdentity() ? "" : ": " + map) + "]";
    }
}
