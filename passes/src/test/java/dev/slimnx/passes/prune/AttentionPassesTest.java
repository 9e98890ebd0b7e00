package dev.slimnx.passes.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.passes.GraphEdits;
import dev.slimnx.passes.PassContext;
import dev.slimnx.passes.PassRefusedException;
import dev.slimnx.passes.PassRegistry;
import dev.slimnx.passes.PassResult;
import dev.slimnx.passes.testing.PassTesting;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@code prune-qk}, {@code prune-heads} and the split of fused projections on small attention models. */
class AttentionPassesTest {

    /**
     * Self-attention with a fused projection as PyTorch exports {@code qkv(x).reshape(b, n, 3, H, d)
     * .permute(2, 0, 3, 1, 4)}: x [batch, 5, 8], 2 heads of 4 dims, qkv [8, 24] with a bias, Gathers
     * 0, 1, 2, softmax(q·kᵀ/2)·v, out of heads, the output projection, the residual.
     */
    static Model fusedAttention() {
        GraphBuilder b = new GraphBuilder(PruneTesting.OPSET, 17);
        Value x = b.input("x", DataType.FLOAT, "batch", 5, 8);
        Value qkv = b.node("MatMul", x, b.initializer(b.randomFloats("qkv.weight", 8, 24))).name("qkv").value();
        qkv = b.node("Add", b.initializer(b.randomFloats("qkv.bias", 24)), qkv).name("qkv_bias").value();
        Value r = b.node("Reshape", qkv, b.initializer(Tensor.ofLongs("qkv_shape", new long[] {5}, 0, 5, 3, 2, 4)))
                .name("qkv_reshape").value();
        Value t = b.node("Transpose", r).ints("perm", 2, 0, 3, 1, 4).name("qkv_t").value();
        Value[] parts = new Value[3];
        for (int i = 0; i < 3; i++) {
            parts[i] = b.node("Gather", t, b.initializer(Tensor.ofLongs("index" + i, new long[0], i)))
                    .attr("axis", 0L).name("part" + i).value();
        }
        Value kt = b.node("Transpose", parts[1]).ints("perm", 0, 1, 3, 2).name("k_transposed").value();
        Value scores = b.node("MatMul", parts[0], kt).name("scores").value();
        scores = b.node("Mul", scores, b.initializer(Tensor.ofFloats("scale", new long[0], 0.5f))).name("scale").value();
        Value probs = b.node("Softmax", scores).attr("axis", -1L).name("softmax").value();
        Value ctx = b.node("MatMul", probs, parts[2]).name("context").value();
        Value o = b.node("Transpose", ctx).ints("perm", 0, 2, 1, 3).name("out_t").value();
        Value flat = b.node("Reshape", o, b.initializer(Tensor.ofLongs("from_heads", new long[] {3}, 0, 5, 8)))
                .name("out_reshape").value();
        Value proj = b.node("MatMul", flat, b.initializer(b.randomFloats("o.weight", 8, 8))).name("o").value();
        b.output(b.node("Add", x, proj).name("residual").value(), DataType.FLOAT, "batch", 5, 8);
        return b.build();
    }

    private static long count(Model m, String opType) {
        return m.graph().nodes().stream().filter(n -> n.is(opType)).count();
    }

    @Test
    void splittingAFusedProjectionKeepsTheOutputs() {
        Model m = fusedAttention();
        Model original = m.copy();
        assertEquals(1, FusedProjections.split(m));
        assertEquals(0, count(m, "Gather"));
        assertEquals(6, count(m, "MatMul"), "q, k, v, two products, the output projection");
        assertEquals(null, m.graph().initializer("qkv.weight"), "the fused weight is gone");
        PassTesting.assertSameOutputs(original, m, 0, 0);
        assertEquals(0, FusedProjections.split(m), "nothing left to split");
    }

    @Test
    void qkDimShrinksQAndKTogetherAndLeavesV() {
        Model m = PruneTesting.attention();
        Model original = m.copy();
        QkDimPass p = new QkDimPass(2, FfnRatioPass.Criterion.MAGNITUDE, null);
        PassResult r = PassTesting.run(p, m);
        assertEquals(Map.of("attention Q/K pairs pruned", 1, "per-head dims removed", 2), r.counts());
        PruneReport.Group g = p.lastReport().pruned().get(0);
        assertEquals("scores", g.name());
        assertEquals(2, g.inputWidth(), "the head count");
        assertEquals(4, g.widthBefore());
        assertEquals(2, g.widthAfter());
        assertArrayEquals(new long[] {8, 4}, PruneTesting.dims(m, "q.weight"));
        assertArrayEquals(new long[] {8, 4}, PruneTesting.dims(m, "k.weight"));
        assertArrayEquals(new long[] {8, 8}, PruneTesting.dims(m, "v.weight"));
        assertArrayEquals(new long[] {8, 8}, PruneTesting.dims(m, "o.weight"));
        assertEquals(0.5f, PruneTesting.value(m, "scale").initializer().toFloatArray()[0], "the scale stays");
        Node qReshape = m.graph().nodes().stream().filter(n -> n.name().equals("q_reshape")).findFirst().orElseThrow();
        assertArrayEquals(new long[] {0, 5, 2, 2}, GraphEdits.constant(qReshape.input(1)).toLongArray());
        Node vReshape = m.graph().nodes().stream().filter(n -> n.name().equals("v_reshape")).findFirst().orElseThrow();
        assertArrayEquals(new long[] {0, 5, 2, 4}, GraphEdits.constant(vReshape.input(1)).toLongArray());

        // the removed dims, zeroed in Q (weight and bias) in both heads, contribute nothing
        int[] removed = PruneTesting.complement(4, g.kept());
        int[] positions = {removed[0], removed[1], 4 + removed[0], 4 + removed[1]};
        Model reference = original.copy();
        PruneTesting.zero(reference, "q.weight", 1, positions);
        PruneTesting.zero(reference, "q.bias", 0, positions);
        PassTesting.assertSameOutputs(reference, m, 1e-5, 1e-5);
        PassTesting.assertUnchanged(new QkDimPass(2, FfnRatioPass.Criterion.MAGNITUDE, null), m);
    }

    @Test
    void qkDimOnAFusedProjectionSplitsItFirst() {
        Model m = fusedAttention();
        Model split = m.copy();
        FusedProjections.split(split);
        QkDimPass p = new QkDimPass(1, FfnRatioPass.Criterion.RANDOM, null).withSeed(3);
        assertTrue(PassTesting.run(p, m).changed());
        assertEquals(0, count(m, "Gather"));
        PruneReport.Group g = p.lastReport().pruned().get(0);
        assertEquals(1, g.kept().length);
        ChannelGroup group = new ChannelDependencies(split).groupOf(AttentionFinder.find(split).get(0).scores().input(0), -1);
        for (ChannelMember c : group.constants()) {
            List<Integer> positions = new java.util.ArrayList<>();
            for (int removed : PruneTesting.complement(4, g.kept())) {
                positions.addAll(c.map().positionsOf(removed));
            }
            PruneTesting.zero(split, c.value().name(), c.axis(), positions.stream().mapToInt(Integer::intValue).toArray());
        }
        PassTesting.assertSameOutputs(split, m, 1e-5, 1e-5);
    }

    @Test
    void headsRemovesQKVSlicesAndTheOutputProjectionRows() {
        Model m = PruneTesting.attention();
        Model original = m.copy();
        HeadPass p = new HeadPass(1, FfnRatioPass.Criterion.MAGNITUDE, null);
        assertEquals(Map.of("attention layers pruned", 1, "heads removed", 1), PassTesting.run(p, m).counts());
        PruneReport.Group g = p.lastReport().pruned().get(0);
        assertEquals(4, g.inputWidth(), "the per-head dim");
        for (String w : List.of("q.weight", "k.weight", "v.weight")) {
            assertArrayEquals(new long[] {8, 4}, PruneTesting.dims(m, w), w);
        }
        assertArrayEquals(new long[] {4, 8}, PruneTesting.dims(m, "o.weight"));
        Node out = m.graph().nodes().stream().filter(n -> n.name().equals("out_reshape")).findFirst().orElseThrow();
        assertArrayEquals(new long[] {0, 5, 4}, GraphEdits.constant(out.input(1)).toLongArray());

        // a removed head whose V and output rows are zero adds nothing
        int h = PruneTesting.complement(2, g.kept())[0];
        int[] rows = {4 * h, 4 * h + 1, 4 * h + 2, 4 * h + 3};
        Model reference = original.copy();
        PruneTesting.zero(reference, "o.weight", 0, rows);
        PassTesting.assertSameOutputs(reference, m, 1e-5, 1e-5);
        PassTesting.assertUnchanged(new HeadPass(1, FfnRatioPass.Criterion.MAGNITUDE, null), m);
    }

    @Test
    void atOrAboveTheModelsOwnWidthNothingChanges() {
        PassTesting.assertUnchanged(new QkDimPass(4, FfnRatioPass.Criterion.MAGNITUDE, null), PruneTesting.attention());
        PassTesting.assertUnchanged(new HeadPass(2, FfnRatioPass.Criterion.MAGNITUDE, null), PruneTesting.attention());
        // NOTE: a fused projection is only split when something is pruned: the model stays as given
        PassTesting.assertUnchanged(new QkDimPass(8, FfnRatioPass.Criterion.MAGNITUDE, null), fusedAttention());
    }

    @Test
    void aGroupThatReachesAGraphOutputIsRefusedAndNothingChanges() {
        Model m = PruneTesting.attention();
        Value q = AttentionFinder.find(m).get(0).scores().input(0);
        m.graph().addOutput(q);
        byte[] before = OnnxWriter.toBytes(m);
        QkDimPass p = new QkDimPass(2, FfnRatioPass.Criterion.MAGNITUDE, null);
        assertFalse(p.run(m, PassContext.defaults()).changed());
        assertArrayEquals(before, OnnxWriter.toBytes(m));
        assertEquals(1, p.lastReport().refused().size());
        assertTrue(p.lastReport().refused().get(0).reason().contains("graph output"),
                p.lastReport().refused().get(0).reason());
    }

    @Test
    void aModelWithoutQkProductsIsRefused() {
        Model m = PruneTesting.mlp();
        byte[] before = OnnxWriter.toBytes(m);
        PassRefusedException e = assertThrows(PassRefusedException.class,
                () -> new HeadPass(1, FfnRatioPass.Criterion.MAGNITUDE, null).run(m, PassContext.defaults()));
        assertTrue(e.getMessage().contains("MobileViTv2"), e.getMessage());
        assertArrayEquals(before, OnnxWriter.toBytes(m));
    }

    @Test
    void theRegisteredDescriptorsParseTheirOptions() {
        Model m = PruneTesting.attention();
        PassRegistry.standard().get(QkDimPass.ID).create(Map.of("qk-dim", "3", "importance", "random", "seed", "2"))
                .run(m, PassContext.defaults());
        assertArrayEquals(new long[] {8, 6}, PruneTesting.dims(m, "k.weight"));
        PassRegistry.standard().get(HeadPass.ID).create(Map.of("heads", "1", "importance", "magnitude", "norm", "l2"))
                .run(m, PassContext.defaults());
        assertArrayEquals(new long[] {8, 3}, PruneTesting.dims(m, "k.weight"));
        assertThrows(IllegalArgumentException.class, () -> PassRegistry.standard().get(QkDimPass.ID)
                .create(Map.of("qk-dim", "0")));
        assertThrows(IllegalArgumentException.class, () -> new HeadPass(0, FfnRatioPass.Criterion.RANDOM, null));
        assertThrows(PassRefusedException.class, () -> PassRegistry.standard().get(HeadPass.ID)
                .create(Map.of()).requires(PruneTesting.attention()), "Taylor without data");
        assertFalse(PassRegistry.standard().losslessIds().contains(QkDimPass.ID));
    }
}
