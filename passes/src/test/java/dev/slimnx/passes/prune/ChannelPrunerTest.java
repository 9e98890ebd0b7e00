package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.check.GraphChecker;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.testing.PassTesting;
import org.junit.jupiter.api.Test;

/**
 * Pruning removes a group's channels everywhere: the result passes the checker, runs in ONNX
 * Runtime at several batch sizes, and computes what the original computes with the removed
 * channels zeroed where they are contracted. Keeping every channel in a new order leaves the
 * outputs equal, which shows a group is complete.
 */
class ChannelPrunerTest {
    private static final double TOL = 1e-5;

    private static ChannelGroup groupOf(Model m, String value, int axis) {
        return new ChannelDependencies(m).groupOf(PruneTesting.value(m, value), axis);
    }

    /** Prunes, checks, and compares with {@code reference} at batch 1 and 3. */
    private static void pruneAndCompare(Model m, ChannelGroup g, int[] keep, Model reference) {
        // NOTE: weights only: a rewritten Reshape target is a new int64 initializer beside the shared one
        long before = ModelStats.of(m).weightCount();
        ChannelPruner.Outcome o = ChannelPruner.prune(m, g, keep);
        GraphChecker.checkOrThrow(m);
        assertEquals(before - o.parametersRemoved(), ModelStats.of(m).weightCount());
        assertEquals(g.parametersPerChannel() * (g.width() - keep.length), o.parametersRemoved());
        for (int batch : new int[] {1, 3}) {
            PassTesting.assertSameOutputs(reference, m, PassTesting.randomFeeds(reference, 5, batch), TOL, TOL);
        }
    }

    @Test
    void anMlpLosesItsHiddenUnitsInBothLayersAndTheBias() {
        Model m = PruneTesting.mlp();
        Model reference = m.copy();
        int[] keep = {1, 4, 6};
        PruneTesting.zero(reference, "fc2.weight", 0, PruneTesting.complement(8, keep));
        pruneAndCompare(m, groupOf(m, "fc1.weight", 1), keep, reference);
        assertArrayEquals(new long[] {4, 3}, PruneTesting.dims(m, "fc1.weight"));
        assertArrayEquals(new long[] {3}, PruneTesting.dims(m, "fc1.bias"));
        assertArrayEquals(new long[] {3, 4}, PruneTesting.dims(m, "fc2.weight"));
        assertArrayEquals(new float[] {PruneTesting.mlp().graph().initializer("fc1.bias").initializer().toFloatArray()[4]},
                new float[] {m.graph().initializer("fc1.bias").initializer().toFloatArray()[1]});
    }

    @Test
    void aConvFfnSlicesItsBatchNormToo() {
        Model m = PruneTesting.convFfn();
        Model reference = m.copy();
        int[] keep = {0, 3, 5, 7};
        PruneTesting.zero(reference, "pw2.weight", 1, PruneTesting.complement(8, keep));
        pruneAndCompare(m, groupOf(m, "pw1.weight", 0), keep, reference);
        for (String bn : new String[] {"bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var"}) {
            assertArrayEquals(new long[] {4}, PruneTesting.dims(m, bn), bn);
        }
        assertArrayEquals(new long[] {4, 4, 1, 1}, PruneTesting.dims(m, "pw2.weight"));
    }

    @Test
    void perHeadDimsRewriteBothReshapeTargetsAndLeaveTheSharedOneAlone() {
        Model m = PruneTesting.attention();
        Model reference = m.copy();
        ChannelGroup g = new ChannelDependencies(m).group(PruneTesting.value(m, "v.weight"), 1,
                new ChannelMap(0, 1, 2, 4), 4);
        // dims 1 and 3 of each head go: flat positions 1, 3, 5, 7 of the context
        PruneTesting.zero(reference, "o.weight", 0, new int[] {1, 3, 5, 7});
        pruneAndCompare(m, g, new int[] {0, 2}, reference);
        assertArrayEquals(new long[] {0, 5, 2, 2}, target(m, "v_reshape"));
        assertArrayEquals(new long[] {0, 5, 2, 4}, target(m, "q_reshape"), "q still reads the shared target");
        assertArrayEquals(new long[] {0, 5, 4}, target(m, "out_reshape"));
        assertArrayEquals(new long[] {8, 4}, PruneTesting.dims(m, "v.weight"));
        assertArrayEquals(new long[] {4, 8}, PruneTesting.dims(m, "o.weight"));
    }

    @Test
    void wholeHeadsShrinkTheHeadCountInEveryReshape() {
        Model m = PruneTesting.attention();
        Model reference = m.copy();
        ChannelGroup g = new ChannelDependencies(m).group(PruneTesting.value(m, "v.weight"), 1,
                new ChannelMap(0, 4, 1, 0), 2);
        PruneTesting.zero(reference, "o.weight", 0, new int[] {0, 1, 2, 3});
        pruneAndCompare(m, g, new int[] {1}, reference);
        for (String r : new String[] {"q_reshape", "k_reshape", "v_reshape"}) {
            assertArrayEquals(new long[] {0, 5, 1, 4}, target(m, r), r);
        }
        assertArrayEquals(new long[] {0, 5, 4}, target(m, "out_reshape"));
        assertEquals(null, m.graph().initializer("to_heads"), "the old target, now unread, is gone");
    }

    @Test
    void splitSizesAndSliceBoundsFollowTheRemovedChannels() {
        Model c = PruneTesting.concatSplit();
        Model referenceC = c.copy();
        int[] keepC = {0, 1, 2, 3};
        PruneTesting.zero(referenceC, "uc", 0, new int[] {4, 5, 6, 7});
        PruneTesting.zero(referenceC, "us", 0, new int[] {4, 5, 6, 7});
        pruneAndCompare(c, groupOf(c, "wc", 1), keepC, referenceC);
        assertArrayEquals(new long[] {6, 4}, input(c, "split", 1).toLongArray());
        assertArrayEquals(new long[] {6}, input(c, "slice", 1).toLongArray());
        assertArrayEquals(new long[] {10}, input(c, "slice", 2).toLongArray());
        assertArrayEquals(new long[] {10}, PruneTesting.dims(c, "cat_bias"));

        Model a = PruneTesting.concatSplit();
        Model referenceA = a.copy();
        int[] keepA = {0, 2, 4};
        PruneTesting.zero(referenceA, "ua", 0, new int[] {1, 3, 5});
        pruneAndCompare(a, groupOf(a, "wa", 1), keepA, referenceA);
        assertArrayEquals(new long[] {3, 8}, input(a, "split", 1).toLongArray());
        assertArrayEquals(new long[] {3}, input(a, "slice", 1).toLongArray(), "the slice after the group moved");
        assertArrayEquals(new long[] {11}, input(a, "slice", 2).toLongArray());
    }

    @Test
    void aDepthwiseConvGetsItsGroupCountRewritten() {
        Model m = PruneTesting.depthwise();
        Model reference = m.copy();
        int[] keep = {1, 2, 4};
        PruneTesting.zero(reference, "project.weight", 1, PruneTesting.complement(6, keep));
        pruneAndCompare(m, groupOf(m, "expand.weight", 0), keep, reference);
        Node dw = m.graph().nodes().stream().filter(n -> n.name().equals("dw")).findFirst().orElseThrow();
        assertEquals(3, dw.intAttr("group", 0));
        assertArrayEquals(new long[] {3, 1, 3, 3}, PruneTesting.dims(m, "dw.weight"));
    }

    @Test
    void broadcastOperandsAreSlicedAlongTheirOwnAxis() {
        Model m = PruneTesting.broadcasting();
        Model reference = m.copy();
        int[] keep = {2, 5};
        PruneTesting.zero(reference, "out.weight", 1, PruneTesting.complement(6, keep));
        pruneAndCompare(m, groupOf(m, "pw.weight", 0), keep, reference);
        assertArrayEquals(new long[] {2, 1, 1}, PruneTesting.dims(m, "bias_c11"));
        assertArrayEquals(new long[] {1, 2, 1, 1}, PruneTesting.dims(m, "scale_1c11"));
        assertArrayEquals(new long[] {1, 1, 3, 3}, PruneTesting.dims(m, "mask_1133"));
    }

    @Test
    void keepingEveryChannelInAnotherOrderLeavesTheOutputsEqual() {
        for (Model m : new Model[] {PruneTesting.mlp(), PruneTesting.convFfn(), PruneTesting.concatSplit()}) {
            Model reference = m.copy();
            String seed = m.graph().initializer("fc1.weight") != null ? "fc1.weight"
                    : m.graph().initializer("pw1.weight") != null ? "pw1.weight" : "wc";
            int axis = seed.equals("pw1.weight") ? 0 : 1;
            ChannelGroup g = groupOf(m, seed, axis);
            int[] reversed = new int[g.width()];
            for (int i = 0; i < reversed.length; i++) {
                reversed[i] = reversed.length - 1 - i;
            }
            pruneAndCompare(m, g, reversed, reference);
        }
        Model att = PruneTesting.attention();
        Model reference = att.copy();
        ChannelGroup heads = new ChannelDependencies(att).group(PruneTesting.value(att, "v.weight"), 1,
                new ChannelMap(0, 4, 1, 0), 2);
        pruneAndCompare(att, heads, new int[] {1, 0}, reference);
    }

    @Test
    void declaredShapesOfActivationsShrinkWithTheirChannels() {
        Model m = PruneTesting.mlp();
        Value hidden = PruneTesting.value(m, "gelu_erf_out0");
        hidden.setType(dev.slimnx.graph.tensor.ValueType.TensorType.of(dev.slimnx.graph.tensor.DataType.FLOAT,
                dev.slimnx.graph.build.GraphBuilder.shape("batch", 3, 8)));
        m.graph().valueInfos().add(hidden);
        ChannelPruner.prune(m, groupOf(m, "fc1.weight", 1), new int[] {0, 1});
        assertEquals(dev.slimnx.graph.build.GraphBuilder.shape("batch", 3, 2), hidden.shape());
        PassTesting.assertSameOutputs(m, m, 1e-6, 1e-6);
    }

    @Test
    void refusedStaleAndBadRequestsLeaveTheModelUntouched() {
        Model custom = ChannelDependenciesTest.mlpWith("com.example", "Swish");
        ChannelGroup refused = groupOf(custom, "fc1.weight", 1);
        byte[] before = OnnxWriter.toBytes(custom);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ChannelPruner.prune(custom, refused, new int[] {0}));
        assertTrue(e.getMessage().contains("no channel rule for com.example.Swish 'act'"), e.getMessage());
        assertArrayEquals(before, OnnxWriter.toBytes(custom));

        Model m = PruneTesting.mlp();
        ChannelGroup g = groupOf(m, "fc1.weight", 1);
        byte[] original = OnnxWriter.toBytes(m);
        for (int[] bad : new int[][] {{}, {0, 0}, {8}, {-1}}) {
            assertThrows(IllegalArgumentException.class, () -> ChannelPruner.prune(m, g, bad));
            assertArrayEquals(original, OnnxWriter.toBytes(m));
        }
        ChannelPruner.prune(m, g, new int[] {0, 1, 2, 3});
        byte[] pruned = OnnxWriter.toBytes(m);
        IllegalArgumentException stale = assertThrows(IllegalArgumentException.class,
                () -> ChannelPruner.prune(m, g, new int[] {0, 1}));
        assertTrue(stale.getMessage().contains("stale"), stale.getMessage());
        assertArrayEquals(pruned, OnnxWriter.toBytes(m));
        Model other = PruneTesting.mlp();
        assertThrows(IllegalArgumentException.class, () -> ChannelPruner.prune(other, g, new int[] {0}));
    }

    private static long[] target(Model m, String reshape) {
        return input(m, reshape, 1).toLongArray();
    }

    private static Tensor input(Model m, String nodeName, int index) {
        for (Node n : m.graph().nodes()) {
            if (n.name().equals(nodeName)) {
                return GraphEdits.constant(n.input(index));
            }
        }
        throw new IllegalArgumentException("no node " + nodeName);
    }
}
