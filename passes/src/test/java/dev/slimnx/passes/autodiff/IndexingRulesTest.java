package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Finite-difference checks of Concat, Split, Slice and Gather; each output is weighted by a second weight. */
class IndexingRulesTest {
    private static final DataType D = DataType.DOUBLE;

    private static Value weighted(GradientCheck c, Value y, String name, long... dims) {
        return c.op("Mul", y, c.weight(name, dims));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, -1})
    void concatAlongEachAxis(int axis) {
        GradientCheck c = new GradientCheck(D, 51);
        long[] a = {2, 3, 2};
        long[] b = {2, 3, 2};
        int ax = axis < 0 ? axis + 3 : axis;
        a[ax] = 1;
        b[ax] = 3;
        long[] out = {2, 3, 2};
        out[ax] = 4;
        Value y = c.b().node("Concat", c.weight("a", a), c.weight("b", b)).attr("axis", (long) axis).value();
        c.check(weighted(c, y, "w", out));
    }

    @Test
    void concatOfThreeWithADynamicAxis() {
        GradientCheck c = new GradientCheck(D, 52);
        Value x = c.dynamicInput("x", new long[] {2, 3}, "n", 3);
        Value a = c.op("Mul", x, c.weight("a", 3));
        Value y = c.b().node("Concat", a, c.weight("b", 1, 3), c.weight("d", 2, 3)).attr("axis", 0L).value();
        c.check(c.op("Mul", y, c.weight("w", 3)));
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1})
    void splitAlongEachAxis(int axis) {
        GradientCheck c = new GradientCheck(D, 53);
        List<Value> parts = c.b().node("Split", c.weight("x", 4, 6), c.longs("split", 1, 3))
                .attr("axis", (long) axis).outputs(2).build();
        // NOTE: the split sizes 1 and 3 fit axis 0 (4); along axis 1 (6) use 2 and 4
        if (axis == 1) {
            GradientCheck d = new GradientCheck(D, 53);
            List<Value> p = d.b().node("Split", d.weight("x", 4, 6), d.longs("split", 2, 4))
                    .attr("axis", 1L).outputs(2).build();
            d.check(weighted(d, p.get(0), "w0", 4, 2), weighted(d, p.get(1), "w1", 4, 4));
            return;
        }
        c.check(weighted(c, parts.get(0), "w0", 1, 6), weighted(c, parts.get(1), "w1", 3, 6));
    }

    @Test
    void splitWithAnOutputThatDoesNotReachTheLoss() {
        GradientCheck c = new GradientCheck(D, 54);
        List<Value> parts = c.b().node("Split", c.weight("x", 3, 4), c.longs("split", 1, 1, 2))
                .attr("axis", 1L).outputs(3).build();
        c.check(weighted(c, parts.get(2), "w", 3, 2));
    }

    @Test
    void sliceContiguous() {
        GradientCheck c = new GradientCheck(D, 55);
        Value y = c.op("Slice", c.weight("x", 4, 5), c.longs("starts", 1, 1), c.longs("ends", 3, 100));
        c.check(weighted(c, y, "w", 2, 4));
    }

    @Test
    void sliceWithStepsAndNegativeIndices() {
        GradientCheck c = new GradientCheck(D, 56);
        Value y = c.op("Slice", c.weight("x", 4, 7, 3), c.longs("starts", 0, -1), c.longs("ends", 7, -100),
                c.longs("axes", 1, 2), c.longs("steps", 2, -2));
        c.check(weighted(c, y, "w", 4, 4, 2));
    }

    @Test
    void sliceOfTheClassTokenRowWithAStaticAxis() {
        // PyTorch's cls_token.expand idiom: x[:, 0:1] * 0 + cls
        GradientCheck c = new GradientCheck(D, 57);
        Value x = c.dynamicInput("x", new long[] {2, 4, 3}, "batch", 4, 3);
        Value h = c.op("Mul", x, c.weight("a", 3));
        Value y = c.op("Slice", h, c.longs("starts", 0), c.longs("ends", 1), c.longs("axes", 1), c.longs("steps", 1));
        c.check(weighted(c, y, "w", 3));
    }

    @Test
    void gatherWithAScalarIndexTakesTheClassToken() {
        GradientCheck c = new GradientCheck(D, 58);
        Value y = c.b().node("Gather", c.weight("x", 2, 5, 3), c.longs("idx", new long[0], 0)).attr("axis", 1L).value();
        c.check(weighted(c, y, "w", 2, 3));
    }

    @Test
    void gatherWithDistinctIndicesOfRankTwo() {
        GradientCheck c = new GradientCheck(D, 59);
        Value y = c.b().node("Gather", c.weight("x", 5, 3), c.longs("idx", new long[] {2, 2}, 4, 0, -2, 1))
                .attr("axis", 0L).value();
        c.check(weighted(c, y, "w", 2, 2, 3));
    }

    @Test
    void gatherWithRepeatedIndicesSumsTheirGradients() {
        GradientCheck c = new GradientCheck(D, 60);
        Value y = c.b().node("Gather", c.weight("x", 3, 4), c.longs("idx", 1, 3, 1, -1)).attr("axis", 1L).value();
        GradientCheck.Result r = c.check(weighted(c, y, "w", 3, 4));
        assertTrue(r.gradients().model().graph().nodes().stream().anyMatch(n -> n.is("ScatterElements")));
    }

    @Test
    void gatherOfQkvAlongAFirstAxisOfThree() {
        // the exported qkv split: three Gathers with scalar indices from one tensor, whose gradients
        // are put together by one Concat: nothing full-size is padded with zeros or summed
        GradientCheck c = new GradientCheck(D, 61);
        Value qkv = c.weight("qkv", 3, 2, 4);
        Value q = c.b().node("Gather", qkv, c.longs("i0", new long[0], 0)).attr("axis", 0L).value();
        Value k = c.b().node("Gather", qkv, c.longs("i1", new long[0], 1)).attr("axis", 0L).value();
        Value v = c.b().node("Gather", qkv, c.longs("i2", new long[0], 2)).attr("axis", 0L).value();
        GradientCheck.Result r = c.check(c.op("Add", c.op("Mul", q, k), v));
        assertEquals(Map.of("Concat", 1L), count(r, "Concat", "Sum", "Pad", "ConstantOfShape", "Gather"));
    }

    @Test
    void twoSlicesOfHalvesAreConcatenated() {
        // EfficientViT's x[:, :C/2] and x[:, C/2:]
        GradientCheck c = new GradientCheck(D, 64);
        Value x = c.weight("x", 2, 6, 3);
        Value a = c.op("Slice", x, c.longs("s0", 0), c.longs("e0", 3), c.longs("ax0", 1));
        Value b = c.op("Slice", x, c.longs("s1", 3), c.longs("e1", 6), c.longs("ax1", 1));
        GradientCheck.Result r = c.check(c.op("Mul", a, b));
        assertEquals(Map.of("Concat", 1L), count(r, "Concat", "Sum", "Pad", "ConstantOfShape"));
    }

    @Test
    void slabsWithAGapBetweenThemAndAWholeGradient() {
        // rows 0 and 3..4 of x by Gather and Slice, and x itself: zeros fill rows 1..2, then one Sum
        GradientCheck c = new GradientCheck(D, 65);
        Value x = c.weight("x", 5, 3);
        Value first = c.b().node("Gather", x, c.longs("i", new long[0], 0)).attr("axis", 0L).value();
        Value last = c.op("Slice", x, c.longs("s", 3), c.longs("e", 5));
        GradientCheck.Result r = c.check(c.op("Mul", last, first), c.op("Mul", x, c.weight("w", 5, 3)));
        assertEquals(Map.of("Concat", 1L, "ConstantOfShape", 1L, "Sum", 1L), count(r, "Concat", "ConstantOfShape", "Sum"));
    }

    @Test
    void overlappingSlicesArePaddedAndSummed() {
        GradientCheck c = new GradientCheck(D, 66);
        Value x = c.weight("x", 5, 3);
        Value a = c.op("Slice", x, c.longs("s0", 0), c.longs("e0", 3));
        Value b = c.op("Slice", x, c.longs("s1", 2), c.longs("e1", 5));
        GradientCheck.Result r = c.check(c.op("Mul", a, b));
        assertEquals(Map.of("Pad", 2L, "Sum", 1L), count(r, "Concat", "Pad", "Sum"));
    }

    /** How many backward nodes of each of the op types there are (those with none left out). */
    private static Map<String, Long> count(GradientCheck.Result r, String... opTypes) {
        Map<String, Long> out = new java.util.TreeMap<>();
        int forward = r.forward().graph().nodes().size();
        List<dev.slimnx.graph.Node> nodes = r.gradients().model().graph().nodes();
        for (dev.slimnx.graph.Node n : nodes.subList(Math.min(forward, nodes.size()), nodes.size())) {
            if (List.of(opTypes).contains(n.opType())) {
                out.merge(n.opType(), 1L, Long::sum);
            }
        }
        return out;
    }

    @Test
    void gatherWithComputedIndicesScattersIntoTheTable() {
        // NaViT's position tables: rows picked by an index the graph computes, repeated and negative
        GradientCheck c = new GradientCheck(D, 62);
        Value idx = c.op("Identity", c.longs("idx", new long[] {2, 3}, 4, 0, -1, 4, 1, 0));
        Value y = c.op("Gather", c.weight("table", 5, 3), idx);
        GradientCheck.Result r = c.check(weighted(c, y, "w", 2, 3, 3));
        assertTrue(r.gradients().model().graph().nodes().stream().anyMatch(n -> n.is("ScatterElements")));
    }

    @Test
    void gatherWithComputedIndicesAlongAnInnerAxis() {
        GradientCheck c = new GradientCheck(D, 63);
        Value idx = c.op("Identity", c.longs("idx", 1, -1, 1));
        Value y = c.b().node("Gather", c.weight("x", 3, 4, 2), idx).attr("axis", 1L).value();
        c.check(weighted(c, y, "w", 3, 3, 2));
    }
}
