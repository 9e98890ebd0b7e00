package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every channel group a global ranking may shrink, of three kinds: FFN hidden units
 * ({@link FfnFinder}), the per-head Q/K dims of an attention product ({@link AttentionFinder}, V
 * never: the pair Q·Kᵀ is the group) and the channels of a conv ({@code group = 1}) that stay off
 * the residual stream and out of attention products ({@link #convGroups}).
 *
 * <p>On request, a fourth kind: the width of each residual stream ({@link Kind#EMBED}), found with
 * an analysis that crosses LayerNormalization's normalised axis. A group is claimed by the first
 * kind that finds it, in the order FFN, Q/K, embed, conv, so EfficientViT's 1×1-conv FFNs are FFN
 * sites and not also conv sites. Each site records its seed by value name and axis:
 * pruning one group can change the tensors of another (a conv weight's input axis belongs to the
 * group before it, a Concat's offsets to both parts), so the group is found again, by
 * {@link #regroup}, on the model as the sites before it left it.
 *
 * <p>Find sites on a model whose fused Q/K/V projections are split ({@link FusedProjections}):
 * otherwise the Q·Kᵀ pairs of fused projections are refused.
 */
final class PruneSites {
    private PruneSites() {
    }

    /** What a site's channels are. */
    enum Kind {
        /** FFN hidden units. */
        FFN("ffn"),
        /** Per-head Q/K dims of an attention product. */
        QK("q/k"),
        /** Output channels of a conv. */
        CONV("conv"),
        /**
         * The residual stream's width (the embedding dimension): one group per stream, through
         * every LayerNorm, block and head it reaches. Only when asked: it couples every block.
         */
        EMBED("embed");

        private final String label;

        Kind(String label) {
            this.label = label;
        }

        /** @return the short name reports use */
        String label() {
            return label;
        }
    }

    /**
     * A prunable group.
     *
     * @param name the layer (node name)
     * @param kind what its channels are
     * @param seedValue the name of the value the group is found from
     * @param seedAxis the axis of that value, non-negative
     * @param inputWidth the width the layer reads (FFN: d; Q/K: heads; conv: input channels)
     * @param width channels in the group
     */
    record Site(String name, Kind kind, String seedValue, int seedAxis, int inputWidth, int width) {
        /** @return kind and name, as the report names the layer */
        String label() {
            return kind.label() + " " + name;
        }
    }

    /**
     * The sites of a model, with the groups they were found as.
     *
     * @param sites prunable sites in order: FFN, then Q/K, then conv, each in graph order
     * @param groups the group of each site, on the model searched
     * @param refused the groups of each kind that cannot be pruned, with the reason
     */
    record Found(List<Site> sites, List<ChannelGroup> groups, List<PruneReport.Refusal> refused) {
    }

    /**
     * A conv channel group: prunable, refused, or left alone for a reason.
     *
     * @param name the conv
     * @param weight its weight, the seed (axis 0)
     * @param inputWidth the conv's input channels
     * @param group the group of its output channels
     * @param refusal why it is not a candidate, or null
     */
    record ConvGroup(String name, Value weight, int inputWidth, ChannelGroup group, String refusal) {
    }

    /**
     * @param model the model (fused projections split)
     * @param kinds the kinds wanted
     * @return its prunable sites and refusals
     */
    static Found find(Model model, Set<Kind> kinds) {
        ChannelDependencies deps = new ChannelDependencies(model);
        Set<String> claimed = new HashSet<>();
        List<Site> sites = new ArrayList<>();
        List<ChannelGroup> groups = new ArrayList<>();
        List<PruneReport.Refusal> refused = new ArrayList<>();
        for (FfnLayer l : FfnFinder.find(deps)) {
            if (!kinds.contains(Kind.FFN)) {
                break;
            }
            if (!l.isPrunable()) {
                refused.add(new PruneReport.Refusal(Kind.FFN.label() + " " + l.name(), l.refusal()));
            } else {
                add(sites, groups, claimed, new Site(l.name(), Kind.FFN, "", 0, l.inputWidth(), l.hiddenWidth()),
                        l.group());
            }
        }
        if (kinds.contains(Kind.QK)) {
            for (AttentionLayer l : AttentionFinder.find(model)) {
                ChannelGroup g = deps.groupOf(l.scores().input(0), -1);
                if (claimed.contains(key(g.seed().value(), g.seed().axis()))) {
                    continue; // NOTE: Q/K weights another product shares (MemViT) are pruned with the first
                }
                if (!g.isPrunable()) {
                    refused.add(new PruneReport.Refusal(Kind.QK.label() + " " + l.name(), g.refusal()));
                } else {
                    add(sites, groups, claimed, new Site(l.name(), Kind.QK, "", 0, l.heads(), g.width()), g);
                }
            }
        }
        if (kinds.contains(Kind.EMBED)) {
            ChannelDependencies wide = embedAnalysis(model);
            for (Node n : model.graph().nodes()) {
                FfnFinder.Weight w = outputChannels(n);
                if (w == null || claimed.contains(key(w.value(), w.outAxis()))) {
                    continue;
                }
                ChannelGroup g = wide.groupOf(w.value(), w.outAxis());
                if (g.isPrunable() && reaches(g, "Add") && !reaches(g, "MatMul")) {
                    String name = n.name().isEmpty() ? n.opType() + " reading '" + n.input(0).name() + "'" : n.name();
                    int in = (int) GraphEdits.constant(w.value()).dims()[w.inAxis()];
                    add(sites, groups, claimed, new Site(name, Kind.EMBED, "", 0, in, g.width()), g);
                }
            }
        }
        if (kinds.contains(Kind.CONV)) {
            Set<Value> claimedWeights = Collections.newSetFromMap(new IdentityHashMap<>());
            for (ChannelGroup g : groups) {
                for (ChannelMember m : g.constants()) {
                    if (m.axis() == 0) {
                        claimedWeights.add(m.value());
                    }
                }
            }
            for (ConvGroup c : convGroups(deps, claimedWeights)) {
                if (c.refusal() != null) {
                    refused.add(new PruneReport.Refusal(Kind.CONV.label() + " " + c.name(), c.refusal()));
                } else {
                    add(sites, groups, claimed, new Site(c.name(), Kind.CONV, "", 0, c.inputWidth(),
                            c.group().width()), c.group());
                }
            }
        }
        return new Found(sites, groups, refused);
    }

    private static void add(List<Site> sites, List<ChannelGroup> groups, Set<String> claimed, Site site,
                            ChannelGroup g) {
        ChannelMember seed = g.seed();
        for (ChannelMember m : g.members()) {
            claimed.add(key(m.value(), m.axis()));
        }
        sites.add(new Site(site.name(), site.kind(), seed.value().name(), seed.axis(), site.inputWidth(),
                site.width()));
        groups.add(g);
    }

    private static String key(Value v, int axis) {
        return v.name() + "@" + axis;
    }

    /**
     * The conv channel groups of a model: every Conv with {@code group = 1} and a constant weight
     * seeds the group of its output channels. A group is a candidate unless the analysis refuses
     * it or it reaches the residual stream (an Add of two activations: that is embedding-width
     * pruning) or an attention product (a MatMul of two activations: Q/K pruning's). A weight
     * whose output channels are already in an earlier group (a depthwise Conv's, a shared
     * weight's), or in {@code claimed}, seeds nothing.
     *
     * @param deps the analysis of the model
     * @param claimed weights whose output channels other sites own; added to
     * @return the groups in graph order
     */
    static List<ConvGroup> convGroups(ChannelDependencies deps, Set<Value> claimed) {
        List<ConvGroup> out = new ArrayList<>();
        for (Node n : deps.model().graph().nodes()) {
            Tensor w = n.is("Conv") && n.intAttr("group", 1) == 1 && n.inputs().size() > 1
                    ? GraphEdits.constant(n.input(1)) : null;
            if (w == null || w.rank() < 3 || claimed.contains(n.input(1))) {
                continue;
            }
            String name = n.name().isEmpty() ? "Conv reading '" + n.input(0).name() + "'" : n.name();
            ChannelGroup g = deps.groupOf(n.input(1), 0);
            for (ChannelMember m : g.constants()) {
                if (m.axis() == 0) {
                    claimed.add(m.value());
                }
            }
            out.add(new ConvGroup(name, n.input(1), (int) w.dims()[1], g, g.isPrunable() ? leftAlone(g) : g.refusal()));
        }
        return out;
    }

    /** @return why a prunable conv group is left alone (the residual stream, an attention product), or null */
    private static String leftAlone(ChannelGroup g) {
        for (Node n : g.nodes()) {
            if (twoActivations(n) && (n.is("Add") || n.is("Sub"))) {
                return n.describe() + " adds the channels to the residual stream";
            }
            if (twoActivations(n) && n.is("MatMul")) {
                return n.describe() + " is an attention product (prune-qk / prune-heads prune it)";
            }
        }
        return null;
    }

    /** @return whether the group runs through an {@code op} of two different activations (a residual Add, Q·Kᵀ) */
    private static boolean reaches(ChannelGroup g, String op) {
        return g.nodes().stream().anyMatch(n -> n.is(op) && twoActivations(n));
    }

    private static boolean twoActivations(Node n) {
        return n.inputs().size() == 2 && n.input(0) != null && n.input(1) != null
                && GraphEdits.constant(n.input(0)) == null && GraphEdits.constant(n.input(1)) == null
                && n.input(0) != n.input(1);
    }

    /** @return a linear node's weight (MatMul, Gemm, 1×1 Conv) or any group-1 Conv's, with its output axis */
    private static FfnFinder.Weight outputChannels(Node n) {
        FfnFinder.Weight w = FfnFinder.weight(n);
        if (w != null || !n.is("Conv") || n.intAttr("group", 1) != 1 || n.inputs().size() < 2) {
            return w;
        }
        Tensor t = GraphEdits.constant(n.input(1));
        return t != null && t.rank() >= 3 && t.dataType().isFloatingPoint() ? new FfnFinder.Weight(n.input(1), 0, 1)
                : null;
    }

    private static ChannelDependencies embedAnalysis(Model model) {
        return new ChannelDependencies(model, ChannelHandlers.standard(), new ChannelDependencies.Options(true));
    }

    /**
     * Finds a site's group again on a model that earlier sites have pruned.
     *
     * @param model the model, with the site's seed value
     * @param values the model's values by name
     * @param site the site
     * @return its group, of the site's width
     * @throws IllegalStateException when the seed is gone or the group changed (a bug)
     */
    static ChannelGroup regroup(Model model, Map<String, Value> values, Site site) {
        Value seed = values.get(site.seedValue());
        if (seed == null) {
            throw new IllegalStateException("the seed '" + site.seedValue() + "' of " + site.label() + " is gone");
        }
        ChannelDependencies deps = site.kind() == Kind.EMBED ? embedAnalysis(model) : new ChannelDependencies(model);
        ChannelGroup g = deps.groupOf(seed, site.seedAxis());
        if (!g.isPrunable() || g.width() != site.width()) {
            throw new IllegalStateException("the group of " + site.label() + " changed when an earlier group was "
                    + "pruned: " + g);
        }
        return g;
    }
}
