package dev.slimnx.passes.prune;

import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A set of channels that must shrink together: every tensor they run through (weights, biases,
 * normalization parameters, activations), on which axis and where along it, and the nodes whose
 * shape constants or attributes encode their number (Reshape targets, Split sizes, Slice bounds,
 * a depthwise Conv's {@code group}).
 *
 * <p>A group is found by {@link ChannelDependencies} from one seed (the output axis of a weight,
 * say) and is either prunable, or refused with the reason: the node and op where the analysis met
 * something it could not follow. {@link ChannelPruner} only prunes prunable groups, so a refused
 * group leaves the model as it was.
 */
public final class ChannelGroup {
    private final ChannelMember seed;
    private final int width;
    private final List<ChannelMember> members;
    private final Map<Value, ChannelMember> byValue;
    private final List<Node> nodes;
    private final List<Node> rewrittenNodes;
    private final String refusal;
    private final long parametersPerChannel;

    ChannelGroup(ChannelMember seed, int width, Map<Value, ChannelMember> members, List<Node> nodes,
                 List<Node> rewrittenNodes, String refusal) {
        this.seed = seed;
        this.width = width;
        this.members = List.copyOf(members.values());
        this.byValue = Collections.unmodifiableMap(new IdentityHashMap<>(members));
        this.nodes = List.copyOf(nodes);
        this.rewrittenNodes = List.copyOf(rewrittenNodes);
        this.refusal = refusal;
        long n = 0;
        for (ChannelMember m : constants()) {
            long perPosition = m.constant().numElements() / Math.max(1, m.axisLength());
            n += perPosition * m.map().repeats() * m.map().block();
        }
        this.parametersPerChannel = n;
    }

    /** @return the member the group was found from */
    public ChannelMember seed() {
        return seed;
    }

    /** @return channels in the group */
    public int width() {
        return width;
    }

    /** @return every member, in the order the analysis reached them (the seed first) */
    public List<ChannelMember> members() {
        return members;
    }

    /**
     * @param v a value
     * @return its membership, or null when the group does not run through it
     */
    public ChannelMember member(Value v) {
        return byValue.get(v);
    }

    /** @return the constant members (weights, biases, normalization parameters), which pruning slices */
    public List<ChannelMember> constants() {
        List<ChannelMember> out = new ArrayList<>();
        for (ChannelMember m : members) {
            if (m.isConstant()) {
                out.add(m);
            }
        }
        return out;
    }

    /** @return the activation members, whose declared shapes pruning shrinks */
    public List<ChannelMember> activations() {
        List<ChannelMember> out = new ArrayList<>();
        for (ChannelMember m : members) {
            if (!m.isConstant()) {
                out.add(m);
            }
        }
        return out;
    }

    /** @return the nodes the group reached, in the order it reached them */
    public List<Node> nodes() {
        return nodes;
    }

    /** @return nodes whose shape constants or attributes pruning rewrites */
    public List<Node> rewrittenNodes() {
        return rewrittenNodes;
    }

    /** @return true when the group can be pruned */
    public boolean isPrunable() {
        return refusal == null;
    }

    /** @return why the group cannot be pruned (naming the node and op), or null when it can */
    public String refusal() {
        return refusal;
    }

    /** @return constant elements one channel owns across the group's constants, when the group was found */
    public long parametersPerChannel() {
        return parametersPerChannel;
    }

    /** @return member names by constant / activation, for messages and tests */
    public Map<String, List<String>> describe() {
        Map<String, List<String>> out = new LinkedHashMap<>();
        out.put("constants", constants().stream().map(ChannelMember::toString).toList());
        out.put("activations", activations().stream().map(ChannelMember::toString).toList());
        return out;
    }

    @Override
    public String toString() {
        return "ChannelGroup[" + seed + ", " + width + " channels, " + members.size() + " members"
                + (refusal == null ? "" : ", refused: " + refusal) + "]";
    }
}
