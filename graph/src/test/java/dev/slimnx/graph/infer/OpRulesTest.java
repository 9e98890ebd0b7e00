package dev.slimnx.graph.infer;

import static dev.slimnx.graph.build.GraphBuilder.shape;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Attribute;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Per-op inference rules, with static shapes and with a symbolic batch. */
class OpRulesTest {
    private static final long MAX = Long.MAX_VALUE;

    private static InferenceResult run(GraphBuilder b, Value... outputs) {
        for (Value v : outputs) {
            b.output(v);
        }
        InferenceResult r = ShapeInference.infer(b.build());
        assertEquals(List.of(), r.warnings());
        return r;
    }

    private static Shape shapeOf(GraphBuilder b, Value v) {
        return run(b, v).shapeOf(v);
    }

    private static Value ints(GraphBuilder b, String name, long... values) {
        return b.initializer(Tensor.ofLongs(name, new long[] {values.length}, values));
    }

    private static Value scalar(GraphBuilder b, String name, long value) {
        return b.initializer(Tensor.ofLongs(name, new long[0], value));
    }

    // ---- broadcasting ----

    @Test
    void broadcastingKeepsSymbolsAgainstOnes() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 1, 8);
        Value y = b.input("y", DataType.FLOAT, 4, 1);
        assertEquals(shape("batch", 4, 8), shapeOf(b, b.op("Add", x, y)));
    }

    @Test
    void broadcastingOfTwoSymbolsAndAKnownDim() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", "n", 8);
        Value y = b.input("y", DataType.FLOAT, "batch", 5, 1);
        Value z = b.input("z", DataType.FLOAT, "other", 1, 1);
        InferenceResult r = run(b, b.op("Mul", x, y), b.op("Sub", x, z));
        assertEquals(shape("batch", 5, 8), r.shapeOf(b.graph().outputs().get(0)));
        assertEquals(shape(null, "n", 8), r.shapeOf(b.graph().outputs().get(1)));
    }

    @Test
    void comparisonsGiveBoolAndWhereBroadcastsThreeInputs() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value y = b.input("y", DataType.FLOAT, 8);
        Value c = b.op("Less", x, y);
        Value w = b.op("Where", c, x, y);
        InferenceResult r = run(b, c, w);
        assertEquals(DataType.BOOL, r.elemTypeOf(c));
        assertEquals(shape("batch", 8), r.shapeOf(w));
        assertEquals(DataType.FLOAT, r.elemTypeOf(w));
    }

    // ---- matrix products ----

    @Test
    void matMulWithWeightsAndBatchedAttention() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 197, 768);
        Value w = b.initializer(b.randomFloats("w", 768, 32));
        Value q = b.input("q", DataType.FLOAT, "batch", 12, 197, 64);
        Value k = b.input("k", DataType.FLOAT, "batch", 12, 64, 197);
        Value v = b.input("v", DataType.FLOAT, 64);
        InferenceResult r = run(b, b.op("MatMul", x, w), b.op("MatMul", q, k), b.op("MatMul", q, v));
        assertEquals(shape("batch", 197, 32), r.shapeOf(b.graph().outputs().get(0)));
        assertEquals(shape("batch", 12, 197, 197), r.shapeOf(b.graph().outputs().get(1)));
        assertEquals(shape("batch", 12, 197), r.shapeOf(b.graph().outputs().get(2)));
    }

    @Test
    void gemmWithTransB() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 768);
        Value w = b.initializer(b.randomFloats("w", 10, 768));
        Value bias = b.initializer(b.randomFloats("b", 10));
        assertEquals(shape("batch", 10), shapeOf(b, b.node("Gemm", x, w, bias).attr("transB", 1L).value()));
    }

    @Test
    void einsumWithExplicitAndImplicitOutput() {
        GraphBuilder b = new GraphBuilder(17);
        Value q = b.input("q", DataType.FLOAT, "batch", 4, 10, 16);
        Value k = b.input("k", DataType.FLOAT, "batch", 4, 12, 16);
        Value m = b.input("m", DataType.FLOAT, 3, 5);
        Value n = b.input("n", DataType.FLOAT, 5, 7);
        Value e = b.input("e", DataType.FLOAT, "batch", 2, 3, 5);
        Value explicit = b.node("Einsum", q, k).attr("equation", "bhid,bhjd->bhij").value();
        Value implicit = b.node("Einsum", m, n).attr("equation", "ij,jk").value();
        Value ellipsis = b.node("Einsum", e, n).attr("equation", "...ij,jk->...ik").value();
        InferenceResult r = run(b, explicit, implicit, ellipsis);
        assertEquals(shape("batch", 4, 10, 12), r.shapeOf(explicit));
        assertEquals(shape(3, 7), r.shapeOf(implicit));
        assertEquals(shape("batch", 2, 3, 7), r.shapeOf(ellipsis));
    }

    // ---- conv and pools ----

    @Test
    void convWithStridePaddingAndGroups() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 224, 224);
        Value w = b.initializer(b.randomFloats("w", 64, 3, 7, 7));
        Value y = b.node("Conv", x, w).attr("strides", 2, 2).attr("pads", 3, 3, 3, 3).value();
        Value dw = b.initializer(b.randomFloats("dw", 64, 1, 3, 3));
        Value z = b.node("Conv", y, dw).attr("group", 64L).attr("auto_pad", "SAME_UPPER").attr("strides", 2, 2).value();
        InferenceResult r = run(b, y, z);
        assertEquals(shape("batch", 64, 112, 112), r.shapeOf(y));
        assertEquals(shape("batch", 64, 56, 56), r.shapeOf(z));
    }

    @Test
    void convTransposeWithOutputPadding() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 8, 4, 4);
        Value w = b.initializer(b.randomFloats("w", 8, 4, 3, 3));
        Value y = b.node("ConvTranspose", x, w).attr("strides", 2, 2).attr("pads", 1, 1, 1, 1)
                .attr("output_padding", 1, 1).value();
        assertEquals(shape("batch", 4, 8, 8), shapeOf(b, y));
    }

    @Test
    void poolsWithCeilModeAndGlobalPool() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 64, 112, 112);
        Value max = b.node("MaxPool", x).attr("kernel_shape", 3, 3).attr("strides", 2, 2).attr("pads", 1, 1, 1, 1).value();
        Value ceil = b.node("AveragePool", x).attr("kernel_shape", 2, 2).attr("strides", 3, 3).attr("ceil_mode", 1L).value();
        Value global = b.op("GlobalAveragePool", x);
        InferenceResult r = run(b, max, ceil, global);
        assertEquals(shape("batch", 64, 56, 56), r.shapeOf(max));
        assertEquals(shape("batch", 64, 38, 38), r.shapeOf(ceil)); // floor mode would give 37
        assertEquals(shape("batch", 64, 1, 1), r.shapeOf(global));
    }

    @Test
    void resizeByScalesAndBySizes() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 10, 10);
        Value scales = b.initializer(Tensor.ofFloats("scales", new long[] {4}, 1f, 1f, 2f, 2.5f));
        Value sizes = ints(b, "sizes", 1, 3, 7, 9);
        Value byScale = b.op("Resize", x, null, scales);
        Value bySize = b.op("Resize", x, null, null, sizes);
        InferenceResult r = run(b, byScale, bySize);
        assertEquals(shape("batch", 3, 20, 25), r.shapeOf(byScale));
        assertEquals(shape(1, 3, 7, 9), r.shapeOf(bySize));
    }

    // ---- data movement ----

    @Test
    void reshapeCopiesZerosAndSolvesMinusOneAcrossSymbols() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 197, 768);
        Value heads = b.op("Reshape", x, ints(b, "t1", 0, 0, 12, -1));
        Value flat = b.op("Reshape", x, ints(b, "t2", -1, 768));
        Value conv = b.input("conv", DataType.FLOAT, "batch", 64, 4, 4);
        Value patches = b.op("Reshape", conv, ints(b, "t3", -1, 64, 16));
        InferenceResult r = run(b, heads, flat, patches);
        assertEquals(shape("batch", 197, 12, 64), r.shapeOf(heads));
        assertEquals(shape("197*batch", 768), r.shapeOf(flat), "the flattened batch is a product dim");
        assertEquals(shape("batch", 64, 16), r.shapeOf(patches), "a ViT's patch flatten keeps the batch symbol");
    }

    @Test
    void mobileVitUnfoldAndFoldRecoverTheBatchThroughAProductDim() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 48, 14, 14);
        Value split = b.op("Reshape", x, ints(b, "u1", -1, 48, 7, 2, 7, 2));
        Value moved = b.node("Transpose", split).attr("perm", 0, 3, 5, 2, 4, 1).value();
        Value tokens = b.op("Reshape", moved, ints(b, "u2", -1, 49, 48));
        Value back = b.op("Reshape", tokens, ints(b, "f1", -1, 2, 2, 7, 7, 48));
        Value image = b.op("Reshape", b.node("Transpose", back).attr("perm", 0, 5, 3, 1, 4, 2).value(),
                ints(b, "f2", -1, 48, 14, 14));
        InferenceResult r = run(b, tokens, image);
        assertEquals(shape("4*batch", 49, 48), r.shapeOf(tokens));
        assertEquals(shape("batch", 2, 2, 7, 7, 48), r.shapeOf(back));
        assertEquals(shape("batch", 48, 14, 14), r.shapeOf(image));
    }

    @Test
    void reshapeMinusOneStaysUnknownWhenSymbolsDoNotCancel() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 6);
        Value y = b.op("Reshape", x, ints(b, "t", -1, 4));
        Value tokens = b.input("t", DataType.FLOAT, "seq", 8);
        Value z = b.op("Reshape", tokens, ints(b, "t2", 0, 2, -1));
        InferenceResult r = run(b, y, z);
        assertEquals(shape(null, 4), r.shapeOf(y), "6*batch / 4 is not exact");
        assertEquals(shape("seq", 2, 4), r.shapeOf(z));
    }

    @Test
    void pytorchExpandWithMinusOnesKeepsTheBatch() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 16, 64);
        Value query = b.input("query", DataType.FLOAT, 1, 8, 64);
        Value batch = b.op("Unsqueeze", b.node("Gather", b.op("Shape", x), scalar(b, "i0", 0)).attr("axis", 0L).value(),
                ints(b, "axes", 0));
        Value target = b.op("Reshape", b.node("Concat", batch, ints(b, "m1", -1), ints(b, "m2", -1)).attr("axis", 0L)
                .value(), ints(b, "flat", -1));
        Value isMinus = b.op("Equal", target, ints(b, "minus", -1, -1, -1));
        Value shape = b.op("Where", isMinus, ints(b, "ones", 1, 1, 1), target);
        Value y = b.op("Expand", query, shape);
        InferenceResult r = run(b, y);
        assertEquals(shape("batch", 8, 64), r.shapeOf(y), "a size is never -1, so the batch survives the Where");
    }

    @Test
    void pytorchShapeGatherConcatReshapeChainStaysSymbolic() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, "batch", "tokens", 768);
        Value s = b.op("Shape", x);
        Value batch = b.node("Gather", s, scalar(b, "i0", 0)).attr("axis", 0L).value();
        Value tokens = b.node("Gather", s, scalar(b, "i1", 1)).attr("axis", 0L).value();
        Value axes = ints(b, "axes0", 0);
        Value b1 = b.op("Unsqueeze", batch, axes);
        Value t1 = b.op("Unsqueeze", tokens, axes);
        Value target = b.node("Concat", b1, t1, ints(b, "h", 12), ints(b, "d", 64)).attr("axis", 0L).value();
        Value y = b.op("Reshape", x, target);
        Value heads = b.node("Transpose", y).attr("perm", 0, 2, 1, 3).value();
        InferenceResult r = run(b, heads);
        assertEquals(shape(), r.shapeOf(batch));
        assertEquals(shape(4), r.shapeOf(target));
        assertEquals(shape("batch", "tokens", 12, 64), r.shapeOf(y));
        assertEquals(shape("batch", 12, "tokens", 64), r.shapeOf(heads));
    }

    @Test
    void shapeArithmeticOnKnownValuesFeedsReshape() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 196, 768);
        Value s = b.op("Shape", x);
        Value c = b.node("Gather", s, scalar(b, "i2", 2)).value();
        Value headDim = b.op("Div", c, scalar(b, "twelve", 12));
        Value b0 = b.node("Gather", s, scalar(b, "i0", 0)).value();
        Value axes = ints(b, "axes", 0);
        Value target = b.node("Concat", b.op("Unsqueeze", b0, axes), ints(b, "m1", -1), ints(b, "h", 12),
                b.op("Unsqueeze", headDim, axes)).attr("axis", 0L).value();
        Value y = b.op("Reshape", x, target);
        assertEquals(shape("batch", 196, 12, 64), shapeOf(b, y));
    }

    @Test
    void concatOfSymbolicAndKnownAlongTheAxis() {
        GraphBuilder b = new GraphBuilder(17);
        Value cls = b.input("cls", DataType.FLOAT, "batch", 1, 768);
        Value patches = b.input("p", DataType.FLOAT, "batch", 196, 768);
        Value var = b.input("v", DataType.FLOAT, "batch", "n", 768);
        InferenceResult r = run(b, b.node("Concat", cls, patches).attr("axis", 1L).value(),
                b.node("Concat", cls, var).attr("axis", -2L).value());
        assertEquals(shape("batch", 197, 768), r.shapeOf(b.graph().outputs().get(0)));
        assertEquals(shape("batch", null, 768), r.shapeOf(b.graph().outputs().get(1)));
    }

    @Test
    void splitBySizesInputAndByNumOutputs() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, "batch", 197, 2304);
        List<Value> qkv = b.node("Split", x, ints(b, "sizes", 768, 768, 768)).attr("axis", 2L).outputs(3).build();
        InferenceResult r = run(b, qkv.get(0), qkv.get(2));
        assertEquals(shape("batch", 197, 768), r.shapeOf(qkv.get(2)));

        GraphBuilder c = new GraphBuilder(18);
        Value y = c.input("y", DataType.FLOAT, 10, "batch");
        List<Value> parts = c.node("Split", y).attr("num_outputs", 3L).outputs(3).build();
        InferenceResult r2 = run(c, parts.toArray(new Value[0]));
        assertEquals(shape(4, "batch"), r2.shapeOf(parts.get(0)));
        assertEquals(shape(2, "batch"), r2.shapeOf(parts.get(2)));
    }

    @Test
    void sliceWithConstantInputsAndWithAttributesBeforeOpset10() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, "batch", 197, 768);
        Value cls = b.op("Slice", x, ints(b, "s0", 0), ints(b, "e0", 1), ints(b, "a0", 1));
        Value rest = b.op("Slice", x, ints(b, "s1", 1), ints(b, "e1", MAX), ints(b, "a1", 1));
        Value every2 = b.op("Slice", x, ints(b, "s2", -1), ints(b, "e2", -MAX), ints(b, "a2", 2), ints(b, "st", -2));
        InferenceResult r = run(b, cls, rest, every2);
        assertEquals(shape("batch", 1, 768), r.shapeOf(cls));
        assertEquals(shape("batch", 196, 768), r.shapeOf(rest));
        assertEquals(shape("batch", 197, 384), r.shapeOf(every2));

        GraphBuilder old = new GraphBuilder(9);
        Value y = old.input("y", DataType.FLOAT, 5, 6);
        Value s = old.node("Slice", y).ints("starts", 1).ints("ends", 4).ints("axes", 1).value();
        assertEquals(shape(5, 3), shapeOf(old, s));
    }

    @Test
    void squeezeAndUnsqueezeAxesAsAttributeBefore13AndAsInputFrom13() {
        GraphBuilder old = new GraphBuilder(11);
        Value x = old.input("x", DataType.FLOAT, "batch", 1, 8);
        Value sq = old.node("Squeeze", x).ints("axes", 1).value();
        Value unsq = old.node("Unsqueeze", sq).ints("axes", 0, -1).value();
        InferenceResult r = run(old, sq, unsq);
        assertEquals(shape("batch", 8), r.shapeOf(sq));
        assertEquals(shape(1, "batch", 8, 1), r.shapeOf(unsq));

        GraphBuilder now = new GraphBuilder(13);
        Value y = now.input("y", DataType.FLOAT, "batch", 1, 8);
        Value sq2 = now.op("Squeeze", y, ints(now, "ax", -2));
        Value unsq2 = now.op("Unsqueeze", sq2, ints(now, "ax2", 1));
        InferenceResult r2 = run(now, sq2, unsq2);
        assertEquals(shape("batch", 8), r2.shapeOf(sq2));
        assertEquals(shape("batch", 1, 8), r2.shapeOf(unsq2));
    }

    @Test
    void gatherEmbeddingAndGatherElements() {
        GraphBuilder b = new GraphBuilder(13);
        Value table = b.initializer(b.randomFloats("table", 100, 32));
        Value ids = b.input("ids", DataType.INT64, "batch", 7);
        Value pos = b.input("pos", DataType.INT64, "batch", 7, 3);
        Value x = b.input("x", DataType.FLOAT, "batch", 7, 5);
        InferenceResult r = run(b, b.op("Gather", table, ids), b.node("GatherElements", x, pos).attr("axis", 2L).value());
        assertEquals(shape("batch", 7, 32), r.shapeOf(b.graph().outputs().get(0)));
        assertEquals(shape("batch", 7, 3), r.shapeOf(b.graph().outputs().get(1)));
        assertEquals(DataType.FLOAT, r.elemTypeOf(b.graph().outputs().get(1)));
    }

    @Test
    void flattenExpandTileAndPad() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 4, 5);
        Value flat = b.op("Flatten", x);
        Value token = b.input("t", DataType.FLOAT, 1, 1, 768);
        Value s = b.op("Shape", b.input("p", DataType.FLOAT, "batch", 196, 768));
        Value expandTo = b.node("Concat", b.node("Slice", s, ints(b, "s0", 0), ints(b, "e0", 1)).value(),
                ints(b, "ones", 1, 768)).attr("axis", 0L).value();
        Value expanded = b.op("Expand", token, expandTo);
        Value tiled = b.op("Tile", x, ints(b, "rep", 1, 2, 1, 3));
        Value padded = b.op("Pad", x, ints(b, "pads", 0, 0, 1, 2, 0, 0, 1, 2));
        InferenceResult r = run(b, flat, expanded, tiled, padded);
        assertEquals(shape("batch", 60), r.shapeOf(flat));
        assertEquals(shape("batch", 1, 768), r.shapeOf(expanded));
        assertEquals(shape("batch", 6, 4, 15), r.shapeOf(tiled));
        assertEquals(shape("batch", 3, 6, 9), r.shapeOf(padded));
    }

    @Test
    void depthToSpaceSpaceToDepthAndTranspose() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, "batch", 16, 4, 6);
        Value d2s = b.node("DepthToSpace", x).attr("blocksize", 2L).value();
        Value s2d = b.node("SpaceToDepth", d2s).attr("blocksize", 2L).value();
        Value t = b.op("Transpose", x);
        InferenceResult r = run(b, d2s, s2d, t);
        assertEquals(shape("batch", 4, 8, 12), r.shapeOf(d2s));
        assertEquals(shape("batch", 16, 4, 6), r.shapeOf(s2d));
        assertEquals(shape(6, 4, 16, "batch"), r.shapeOf(t));
    }

    // ---- values ----

    @Test
    void shapeWithStartEndSizeAndCast() {
        GraphBuilder b = new GraphBuilder(15);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 8, 8);
        Value tail = b.node("Shape", x).attr("start", -2L).value();
        Value size = b.op("Size", x);
        Value cast = b.node("Cast", tail).attr("to", (long) DataType.INT32.code()).value();
        InferenceResult r = run(b, tail, size, cast);
        assertEquals(shape(2), r.shapeOf(tail));
        assertEquals(List.of(8L, 8L), r.intsOf(tail).values().stream().map(d -> d.value()).toList());
        assertEquals(shape(), r.shapeOf(size));
        assertEquals(DataType.INT32, r.elemTypeOf(cast));
        assertEquals(r.intsOf(tail), r.intsOf(cast));
    }

    @Test
    void constantOfShapeRangeAndCastLike() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT16, "batch", 5);
        Value zeros = b.node("ConstantOfShape", b.op("Shape", x))
                .attr(Attribute.ofTensor("value", Tensor.ofLongs("v", new long[] {1}, 0))).value();
        Value range = b.op("Range", scalar(b, "start", 2), scalar(b, "limit", 11), scalar(b, "delta", 3));
        Value like = b.op("CastLike", zeros, x);
        InferenceResult r = run(b, zeros, range, like);
        assertEquals(shape("batch", 5), r.shapeOf(zeros));
        assertEquals(DataType.INT64, r.elemTypeOf(zeros));
        assertEquals(shape(3), r.shapeOf(range));
        assertEquals(List.of(2L, 5L, 8L), r.intsOf(range).values().stream().map(d -> d.value()).toList());
        assertEquals(DataType.FLOAT16, r.elemTypeOf(like));
    }

    // ---- reductions ----

    @Test
    void reduceAxesAsAttributeBefore18AndAsInputFrom18() {
        GraphBuilder old = new GraphBuilder(17);
        Value x = old.input("x", DataType.FLOAT, "batch", 197, 768);
        Value mean = old.node("ReduceMean", x).ints("axes", -1).value();
        Value pooled = old.node("ReduceMax", x).ints("axes", 1).attr("keepdims", 0L).value();
        Value sum = old.op("ReduceSum", x, ints(old, "ax", 1));
        InferenceResult r = run(old, mean, pooled, sum);
        assertEquals(shape("batch", 197, 1), r.shapeOf(mean));
        assertEquals(shape("batch", 768), r.shapeOf(pooled));
        assertEquals(shape("batch", 1, 768), r.shapeOf(sum));

        GraphBuilder now = new GraphBuilder(18);
        Value y = now.input("y", DataType.FLOAT, "batch", 197, 768);
        Value mean2 = now.node("ReduceMean", y, ints(now, "axes", 1)).attr("keepdims", 0L).value();
        Value all = now.op("ReduceL2", y);
        Value noop = now.node("ReduceProd", y).attr("noop_with_empty_axes", 1L).value();
        InferenceResult r2 = run(now, mean2, all, noop);
        assertEquals(shape("batch", 768), r2.shapeOf(mean2));
        assertEquals(shape(1, 1, 1), r2.shapeOf(all));
        assertEquals(shape("batch", 197, 768), r2.shapeOf(noop));
    }

    @Test
    void topKAndArgMax() {
        GraphBuilder b = new GraphBuilder(13);
        Value logits = b.input("logits", DataType.FLOAT, "batch", 1000);
        List<Value> top = b.node("TopK", logits, ints(b, "k", 5)).outputs(2).build();
        Value arg = b.node("ArgMax", logits).attr("axis", 1L).attr("keepdims", 0L).value();
        InferenceResult r = run(b, top.get(0), top.get(1), arg);
        assertEquals(shape("batch", 5), r.shapeOf(top.get(0)));
        assertEquals(DataType.INT64, r.elemTypeOf(top.get(1)));
        assertEquals(shape("batch"), r.shapeOf(arg));
    }

    // ---- normalization, activations, quantization ----

    @Test
    void normalizationsAndActivationsKeepTheInputShape() {
        GraphBuilder b = new GraphBuilder(18);
        Value x = b.input("x", DataType.FLOAT, "batch", 197, 768);
        Value g = b.initializer(b.randomFloats("g", 768));
        Value bias = b.initializer(b.randomFloats("bb", 768));
        List<Value> ln = b.node("LayerNormalization", x, g, bias).outputs(3).build();
        Value gelu = b.op("Softmax", b.op("Erf", ln.get(0)));
        Value img = b.input("img", DataType.FLOAT, "batch", 8, 4, 4);
        Value c = b.initializer(b.randomFloats("c", 8));
        Value bn = b.op("BatchNormalization", img, c, c, c, c);
        Value gn = b.node("GroupNormalization", img, c, c).attr("num_groups", 2L).value();
        Value hs = b.op("HardSwish", b.op("InstanceNormalization", gn, c, c));
        InferenceResult r = run(b, ln.get(0), ln.get(1), gelu, bn, hs);
        assertEquals(shape("batch", 197, 768), r.shapeOf(ln.get(0)));
        assertEquals(shape("batch", 197, 1), r.shapeOf(ln.get(1)));
        assertEquals(shape("batch", 197, 768), r.shapeOf(gelu));
        assertEquals(shape("batch", 8, 4, 4), r.shapeOf(bn));
        assertEquals(shape("batch", 8, 4, 4), r.shapeOf(hs));
    }

    @Test
    void quantizeTakesTheZeroPointTypeAndDequantizeTheScaleType() {
        GraphBuilder b = new GraphBuilder(19);
        Value x = b.input("x", DataType.FLOAT, "batch", 8);
        Value scale = b.initializer(Tensor.ofFloats("scale", new long[0], 0.1f));
        Value zp = b.initializer(Tensor.ofIntegers("zp", DataType.INT8, new long[0], 0));
        Value q = b.op("QuantizeLinear", x, scale, zp);
        Value dq = b.op("DequantizeLinear", q, scale, zp);
        Value mmi = b.op("MatMulInteger", q, b.initializer(Tensor.ofIntegers("wq", DataType.INT8, new long[] {8, 4},
                new long[32])));
        InferenceResult r = run(b, q, dq, mmi);
        assertEquals(DataType.INT8, r.elemTypeOf(q));
        assertEquals(DataType.FLOAT, r.elemTypeOf(dq));
        assertEquals(shape("batch", 8), r.shapeOf(dq));
        assertEquals(DataType.INT32, r.elemTypeOf(mmi));
        assertEquals(shape("batch", 4), r.shapeOf(mmi));
    }

    @Test
    void trickyCasesStayUnknownRatherThanWrong() {
        GraphBuilder b = new GraphBuilder(13);
        Value x = b.input("x", DataType.FLOAT, "batch", 1, 8);
        Value dynAxes = b.input("axes", DataType.INT64, 1);
        Value sq = b.op("Squeeze", x); // batch might be 1 too
        Value dynSlice = b.op("Slice", x, dynAxes, dynAxes);
        Value dynReshape = b.op("Reshape", x, b.input("target", DataType.INT64, 3));
        InferenceResult r = run(b, sq, dynSlice, dynReshape);
        assertNull(r.shapeOf(sq));
        assertEquals(shape(null, null, null), r.shapeOf(dynSlice));
        assertEquals(shape(null, null, null), r.shapeOf(dynReshape));
        assertTrue(Rules.has("Gelu") && Rules.has("Trilu") && Rules.has("SpaceToDepth"));
    }

    @Test
    void everyOpOfTheRequiredListHasARule() {
        for (String op : List.of("Conv", "ConvTranspose", "MatMul", "Gemm", "Einsum", "Add", "Sub", "Mul", "Div", "Pow",
                "Sqrt", "Reciprocal", "Neg", "Erf", "Exp", "Tanh", "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid",
                "HardSwish", "Gelu", "Softmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization",
                "GroupNormalization", "ReduceMean", "ReduceSum", "ReduceMax", "Reshape", "Transpose", "Concat", "Split",
                "Slice", "Gather", "GatherElements", "Shape", "Size", "Unsqueeze", "Squeeze", "Flatten", "Expand", "Tile",
                "Where", "Equal", "Less", "Greater", "Not", "And", "Cast", "CastLike", "Constant", "ConstantOfShape",
                "Range", "Clip", "Pad", "Resize", "GlobalAveragePool", "AveragePool", "MaxPool", "Identity", "Dropout",
                "TopK", "ArgMax", "Trilu", "DepthToSpace", "SpaceToDepth", "Abs", "Log", "Floor", "Ceil", "Min", "Max",
                "Or", "Sum", "Mean", "QuantizeLinear", "DequantizeLinear", "MatMulInteger", "Softplus", "Sin", "Cos",
                "IsNaN", "ReduceL2", "ReduceProd", "If", "Loop")) {
            assertTrue(Rules.has(op), op);
        }
    }

    @Test
    void gatherNdAndGridSample() {
        GraphBuilder b = new GraphBuilder(16);
        Value data = b.input("d", DataType.FLOAT, "batch", 5, 6, 7);
        Value idx = b.input("i", DataType.INT64, "batch", 3, 2);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 8, 8);
        Value grid = b.input("g", DataType.FLOAT, "batch", 4, 5, 2);
        Value nd = b.node("GatherND", data, idx).attr("batch_dims", 1L).value();
        Value gs = b.op("GridSample", x, grid);
        InferenceResult r = run(b, nd, gs);
        assertEquals(shape("batch", 3, 7), r.shapeOf(nd));
        assertEquals(shape("batch", 3, 4, 5), r.shapeOf(gs));
    }
}
