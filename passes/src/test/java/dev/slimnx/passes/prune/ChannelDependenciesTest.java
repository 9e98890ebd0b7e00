package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The groups the analysis finds on small graphs are exactly the expected member sets, and what it
 * cannot follow is refused with the node and op named.
 */
class ChannelDependenciesTest {

    private static ChannelGroup groupOf(Model m, String value, int axis) {
        return new ChannelDependencies(m).groupOf(PruneTesting.value(m, value), axis);
    }

    private static TreeSet<String> sorted(List<String> names) {
        return new TreeSet<>(names);
    }

    private static void assertMembers(ChannelGroup g, List<String> constants, List<String> activations) {
        assertNull(g.refusal(), "refused: " + g.refusal());
        Map<String, List<String>> got = g.describe();
        assertEquals(sorted(constants), sorted(got.get("constants")), "constants");
        assertEquals(sorted(activations), sorted(got.get("activations")), "activations");
    }

    private static List<String> names(List<Node> nodes) {
        return nodes.stream().map(Node::name).toList();
    }

    @Test
    void anMlpHiddenLayerRunsFromTheFirstWeightThroughTheGeluToTheSecond() {
        Model m = PruneTesting.mlp();
        ChannelGroup g = groupOf(m, "fc1.weight", 1);
        assertEquals(8, g.width());
        assertMembers(g, List.of("fc1.weight[axis 1]", "fc1.bias[axis 0]", "fc2.weight[axis 0]"),
                List.of("fc1_out0[axis 2]", "fc1_bias_out0[axis 2]", "gelu_div_out0[axis 2]", "gelu_erf_out0[axis 2]",
                        "gelu_add_out0[axis 2]", "gelu_mul_out0[axis 2]", "gelu_half_out0[axis 2]"));
        assertEquals(List.of(), g.rewrittenNodes());
        // the same group from the other end
        ChannelGroup back = groupOf(m, "fc2.weight", 0);
        assertEquals(sorted(g.describe().get("constants")), sorted(back.describe().get("constants")));
        assertEquals(4 + 1 + 4, g.parametersPerChannel());
    }

    @Test
    void aConvFfnCouplesAllFourBatchNormParametersAndMarksTheStatistics() {
        Model m = PruneTesting.convFfn();
        ChannelGroup g = groupOf(m, "pw1.weight", 0);
        assertMembers(g, List.of("pw1.weight[axis 0]", "pw1.bias[axis 0]", "bn1.weight[axis 0]", "bn1.bias[axis 0]",
                        "bn1.running_mean[axis 0]", "bn1.running_var[axis 0]", "pw2.weight[axis 1]"),
                List.of("pw1_out0[axis 1]", "bn1_out0[axis 1]", "relu_out0[axis 1]"));
        assertTrue(g.member(PruneTesting.value(m, "bn1.running_var")).statistic());
        assertFalse(g.member(PruneTesting.value(m, "bn1.weight")).statistic());
    }

    @Test
    void perHeadDimsOfVFollowTheReshapeIntoHeadsAndBack() {
        Model m = PruneTesting.attention();
        ChannelDependencies deps = new ChannelDependencies(m);
        ChannelMap perDim = new ChannelMap(0, 1, 2, 4);
        ChannelGroup g = deps.group(PruneTesting.value(m, "v.weight"), 1, perDim, 4);
        String flat = ": offset 0, 2 repeats every 4]";
        assertMembers(g, List.of("v.weight[axis 1" + flat, "v.bias[axis 0" + flat, "o.weight[axis 0" + flat),
                List.of("v_out0[axis 2" + flat, "v_bias_out0[axis 2" + flat, "v_reshape_out0[axis 3]",
                        "v_t_out0[axis 3]", "context_out0[axis 3]", "out_t_out0[axis 3]",
                        "out_reshape_out0[axis 2" + flat));
        assertEquals(List.of("v_reshape", "out_reshape"), names(g.rewrittenNodes()));
    }

    @Test
    void wholeHeadsCoupleQueriesKeysAndValuesOfTheHead() {
        Model m = PruneTesting.attention();
        ChannelGroup g = new ChannelDependencies(m).group(PruneTesting.value(m, "v.weight"), 1,
                new ChannelMap(0, 4, 1, 0), 2);
        String block = ": offset 0, block 4]";
        assertMembers(g, List.of("q.weight[axis 1" + block, "q.bias[axis 0" + block, "k.weight[axis 1" + block,
                        "k.bias[axis 0" + block, "v.weight[axis 1" + block, "v.bias[axis 0" + block,
                        "o.weight[axis 0" + block),
                List.of("q_out0[axis 2" + block, "q_bias_out0[axis 2" + block, "q_reshape_out0[axis 2]",
                        "q_t_out0[axis 1]", "k_out0[axis 2" + block, "k_bias_out0[axis 2" + block,
                        "k_reshape_out0[axis 2]", "k_t_out0[axis 1]", "k_transposed_out0[axis 1]",
                        "v_out0[axis 2" + block, "v_bias_out0[axis 2" + block, "v_reshape_out0[axis 2]",
                        "v_t_out0[axis 1]", "scores_out0[axis 1]", "scale_out0[axis 1]", "softmax_out0[axis 1]",
                        "context_out0[axis 1]", "out_t_out0[axis 2]", "out_reshape_out0[axis 2" + block));
        assertEquals(new TreeSet<>(List.of("q_reshape", "k_reshape", "v_reshape", "out_reshape")),
                new TreeSet<>(names(g.rewrittenNodes())));
    }

    @Test
    void aGroupSpanningBothFactorsOfTheHeadReshapeIsRefused() {
        Model m = PruneTesting.attention();
        ChannelGroup g = groupOf(m, "v.weight", 1);
        assertFalse(g.isPrunable());
        assertTrue(g.refusal().startsWith("Reshape 'v_reshape': the channels (8, identity) span both factors 2 × 4"),
                g.refusal());
    }

    @Test
    void concatOffsetsCarryIntoSplitAndSliceReaders() {
        Model m = PruneTesting.concatSplit();
        ChannelGroup c = groupOf(m, "wc", 1);
        assertMembers(c, List.of("wc[axis 1]", "cat_bias[axis 0: offset 6]", "uc[axis 0]", "us[axis 0]"),
                List.of("fc_out0[axis 1]", "cat_out0[axis 1: offset 6]", "cat_bias_out0[axis 1: offset 6]",
                        "split_out1[axis 1]", "slice_out0[axis 1]"));
        assertEquals(List.of("split", "slice"), names(c.rewrittenNodes()));

        ChannelGroup a = groupOf(m, "wa", 1);
        assertMembers(a, List.of("wa[axis 1]", "cat_bias[axis 0]", "ua[axis 0]"),
                List.of("fa_out0[axis 1]", "relu_a_out0[axis 1]", "cat_out0[axis 1]", "cat_bias_out0[axis 1]",
                        "split_out0[axis 1]"));
        assertEquals(List.of("split", "slice"), names(a.rewrittenNodes()), "the slice after the group moves");
    }

    @Test
    void broadcastOperandsAreCoupledOnlyWhereTheyHaveTheChannelAxis() {
        Model m = PruneTesting.broadcasting();
        ChannelGroup g = groupOf(m, "pw.weight", 0);
        assertMembers(g, List.of("pw.weight[axis 0]", "bias_c11[axis 0]", "scale_1c11[axis 1]", "out.weight[axis 1]"),
                List.of("pw_out0[axis 1]", "bias_out0[axis 1]", "scale_out0[axis 1]", "twice_out0[axis 1]",
                        "mask_out0[axis 1]"));
        assertNull(g.member(PruneTesting.value(m, "two")));
        assertNull(g.member(PruneTesting.value(m, "mask_1133")));
    }

    @Test
    void aDepthwiseConvPassesItsChannelsThrough() {
        Model m = PruneTesting.depthwise();
        ChannelGroup g = groupOf(m, "expand.weight", 0);
        assertMembers(g, List.of("expand.weight[axis 0]", "dw.weight[axis 0]", "dw.bias[axis 0]",
                "project.weight[axis 1]"), List.of("expand_out0[axis 1]", "dw_out0[axis 1]", "relu_out0[axis 1]"));
        assertEquals(List.of("dw"), names(g.rewrittenNodes()));
    }

    /** The MLP with its activation replaced by {@code op} (in {@code domain}). */
    static Model mlpWith(String domain, String op) {
        GraphBuilder b = new GraphBuilder(PruneTesting.OPSET, 7);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 4);
        Value h = b.node("MatMul", x, b.initializer(b.randomFloats("fc1.weight", 4, 8))).name("fc1").value();
        Value a = b.node(op, h).domain(domain).name("act").value();
        Value o = b.node("MatMul", a, b.initializer(b.randomFloats("fc2.weight", 8, 4))).name("fc2").value();
        b.output(b.node("Add", x, o).name("residual").value(), DataType.FLOAT, "batch", 3, 4);
        Model m = b.build();
        if (!domain.isEmpty()) {
            m.setOpsetVersion(domain, 1);
        }
        return m;
    }

    @Test
    void unknownOpsAndOtherDomainsAreRefusedWithTheirNames() {
        ChannelGroup custom = groupOf(mlpWith("com.example", "Swish"), "fc1.weight", 1);
        assertEquals("no channel rule for com.example.Swish 'act' (domain com.example)", custom.refusal());
        ChannelGroup topk = groupOf(mlpWith("", "Hardmax"), "fc1.weight", 1);
        assertEquals("Hardmax 'act': it normalizes along the channel axis", topk.refusal());
    }

    @Test
    void shapeReadersAndGraphOutputsStopTheGroup() {
        Model m = PruneTesting.mlp();
        GraphBuilderHelper.addShapeReader(m, "gelu_erf_out0");
        assertTrue(groupOf(m, "fc1.weight", 1).refusal().startsWith("no channel rule for Shape"));

        Model out = PruneTesting.mlp();
        out.graph().addOutput(PruneTesting.value(out, "gelu_half_out0"));
        assertEquals("the channels reach graph output 'gelu_half_out0'", groupOf(out, "fc1.weight", 1).refusal());
    }

    @Test
    void theEmbeddingWidthIsRefusedUnlessAskedFor() {
        GraphBuilder b = new GraphBuilder(PruneTesting.OPSET, 3);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value h = b.node("MatMul", x, b.initializer(b.randomFloats("w0", 4, 6))).name("embed").value();
        h = b.node("LayerNormalization", h, b.initializer(b.randomFloats("ln.weight", 6)),
                b.initializer(b.randomFloats("ln.bias", 6))).attr("axis", -1L).name("ln").value();
        b.output(b.node("MatMul", h, b.initializer(b.randomFloats("w1", 6, 3))).name("head").value(),
                DataType.FLOAT, "batch", 3);
        Model m = b.build();
        ChannelGroup refused = groupOf(m, "w0", 1);
        assertTrue(refused.refusal().startsWith("LayerNormalization 'ln': it normalizes over the channel axis"),
                refused.refusal());
        ChannelGroup asked = new ChannelDependencies(m, ChannelHandlers.standard(),
                new ChannelDependencies.Options(true)).groupOf(PruneTesting.value(m, "w0"), 1);
        assertMembers(asked, List.of("w0[axis 1]", "ln.weight[axis 0]", "ln.bias[axis 0]", "w1[axis 0]"),
                List.of("embed_out0[axis 1]", "ln_out0[axis 1]"));
    }

    @Test
    void seedsThatDoNotFitAreRejected() {
        Model m = PruneTesting.mlp();
        ChannelDependencies deps = new ChannelDependencies(m);
        Value w = PruneTesting.value(m, "fc1.weight");
        assertThrows(IllegalArgumentException.class, () -> deps.group(w, 1, ChannelMap.offset(4), 8));
        assertThrows(IllegalArgumentException.class, () -> deps.groupOf(w, 2));
    }
}
