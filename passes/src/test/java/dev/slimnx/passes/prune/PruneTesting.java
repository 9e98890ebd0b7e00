package dev.slimnx.passes.prune;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Small models the pruning tests share, built with a fixed seed, and helpers to compare a pruned
 * model with the original whose removed channels were zeroed.
 */
final class PruneTesting {
    static final int OPSET = 17;

    private PruneTesting() {
    }

    /** {@code y = x + fc2(gelu(fc1(x)))} on x [batch, 3, 4], hidden 8, GELU as PyTorch exports it. */
    static Model mlp() {
        GraphBuilder b = new GraphBuilder(OPSET, 7);
        Value x = b.input("x", DataType.FLOAT, "batch", 3, 4);
        Value h = b.node("MatMul", x, b.initializer(b.randomFloats("fc1.weight", 4, 8))).name("fc1").value();
        h = b.node("Add", b.initializer(b.randomFloats("fc1.bias", 8)), h).name("fc1_bias").value();
        Value g = gelu(b, h);
        Value o = b.node("MatMul", g, b.initializer(b.randomFloats("fc2.weight", 8, 4))).name("fc2").value();
        o = b.node("Add", b.initializer(b.randomFloats("fc2.bias", 4)), o).name("fc2_bias").value();
        b.output(b.node("Add", x, o).name("residual").value(), DataType.FLOAT, "batch", 3, 4);
        return b.build();
    }

    /** {@code 0.5·x·(1 + erf(x/√2))} with scalar constants, node by node. */
    static Value gelu(GraphBuilder b, Value x) {
        Value div = b.node("Div", x, b.initializer(Tensor.ofFloats("sqrt2", new long[0], (float) Math.sqrt(2))))
                .name("gelu_div").value();
        Value erf = b.node("Erf", div).name("gelu_erf").value();
        Value add = b.node("Add", erf, b.initializer(Tensor.ofFloats("one", new long[0], 1f))).name("gelu_add").value();
        Value mul = b.node("Mul", x, add).name("gelu_mul").value();
        return b.node("Mul", mul, b.initializer(Tensor.ofFloats("half", new long[0], 0.5f))).name("gelu_half").value();
    }

    /**
     * EfficientViT's FFN with BatchNorms left unfolded: {@code y = x + BN(Conv1x1(ReLU(BN(Conv1x1(x)))))}
     * on x [batch, 4, 3, 3], hidden 8.
     */
    static Model convFfn() {
        GraphBuilder b = new GraphBuilder(OPSET, 11);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 3, 3);
        Value h = b.node("Conv", x, b.initializer(b.randomFloats("pw1.weight", 8, 4, 1, 1)),
                b.initializer(b.randomFloats("pw1.bias", 8))).name("pw1").value();
        h = batchNorm(b, h, "bn1", 8);
        h = b.node("Relu", h).name("relu").value();
        Value o = b.node("Conv", h, b.initializer(b.randomFloats("pw2.weight", 4, 8, 1, 1))).name("pw2").value();
        o = batchNorm(b, o, "bn2", 4);
        b.output(b.node("Add", x, o).name("residual").value(), DataType.FLOAT, "batch", 4, 3, 3);
        return b.build();
    }

    static Value batchNorm(GraphBuilder b, Value x, String name, int channels) {
        float[] var = new float[channels];
        for (int i = 0; i < channels; i++) {
            var[i] = 0.5f + i * 0.1f;
        }
        return b.node("BatchNormalization", x, b.initializer(b.randomFloats(name + ".weight", channels)),
                b.initializer(b.randomFloats(name + ".bias", channels)),
                b.initializer(b.randomFloats(name + ".running_mean", channels)),
                b.initializer(Tensor.ofFloats(name + ".running_var", new long[] {channels}, var)))
                .name(name).value();
    }

    /**
     * Multi-head self-attention as PyTorch exports it, x [batch, 5, 8], 2 heads of 4 dims:
     * q, k, v projections, Reshape [0, 5, 2, 4] and Transpose into heads, softmax(q·kᵀ/2)·v,
     * Transpose and Reshape [0, 5, 8] out of heads, the output projection, the residual.
     */
    static Model attention() {
        GraphBuilder b = new GraphBuilder(OPSET, 13);
        Value x = b.input("x", DataType.FLOAT, "batch", 5, 8);
        Value heads = b.initializer(Tensor.ofLongs("to_heads", new long[] {4}, 0, 5, 2, 4));
        Value q = intoHeads(b, projection(b, x, "q"), heads, "q");
        Value k = intoHeads(b, projection(b, x, "k"), heads, "k");
        Value v = intoHeads(b, projection(b, x, "v"), heads, "v");
        Value kt = b.node("Transpose", k).ints("perm", 0, 1, 3, 2).name("k_transposed").value();
        Value scores = b.node("MatMul", q, kt).name("scores").value();
        scores = b.node("Mul", scores, b.initializer(Tensor.ofFloats("scale", new long[0], 0.5f))).name("scale").value();
        Value probs = b.node("Softmax", scores).attr("axis", -1L).name("softmax").value();
        Value ctx = b.node("MatMul", probs, v).name("context").value();
        Value t = b.node("Transpose", ctx).ints("perm", 0, 2, 1, 3).name("out_t").value();
        Value flat = b.node("Reshape", t, b.initializer(Tensor.ofLongs("from_heads", new long[] {3}, 0, 5, 8)))
                .name("out_reshape").value();
        Value o = projection(b, flat, "o");
        b.output(b.node("Add", x, o).name("residual").value(), DataType.FLOAT, "batch", 5, 8);
        return b.build();
    }

    /**
     * A transformer block on x [batch, 5, 8]: the attention of {@link #attention()} (2 heads of 4
     * dims) then an MLP 8 → 32 → 8 with a GELU, each added to the residual.
     */
    static Model block() {
        GraphBuilder b = new GraphBuilder(OPSET, 17);
        Value x = b.input("x", DataType.FLOAT, "batch", 5, 8);
        Value heads = b.initializer(Tensor.ofLongs("to_heads", new long[] {4}, 0, 5, 2, 4));
        Value q = intoHeads(b, projection(b, x, "q"), heads, "q");
        Value k = intoHeads(b, projection(b, x, "k"), heads, "k");
        Value v = intoHeads(b, projection(b, x, "v"), heads, "v");
        Value kt = b.node("Transpose", k).ints("perm", 0, 1, 3, 2).name("k_transposed").value();
        Value scores = b.node("MatMul", q, kt).name("scores").value();
        scores = b.node("Mul", scores, b.initializer(Tensor.ofFloats("scale", new long[0], 0.5f))).name("scale").value();
        Value probs = b.node("Softmax", scores).attr("axis", -1L).name("softmax").value();
        Value ctx = b.node("MatMul", probs, v).name("context").value();
        Value t = b.node("Transpose", ctx).ints("perm", 0, 2, 1, 3).name("out_t").value();
        Value flat = b.node("Reshape", t, b.initializer(Tensor.ofLongs("from_heads", new long[] {3}, 0, 5, 8)))
                .name("out_reshape").value();
        Value y = b.node("Add", x, projection(b, flat, "o")).name("residual1").value();
        Value h = b.node("MatMul", y, b.initializer(b.randomFloats("fc1.weight", 8, 32))).name("fc1").value();
        h = b.node("Add", b.initializer(b.randomFloats("fc1.bias", 32)), h).name("fc1_bias").value();
        Value f = b.node("MatMul", gelu(b, h), b.initializer(b.randomFloats("fc2.weight", 32, 8))).name("fc2").value();
        f = b.node("Add", b.initializer(b.randomFloats("fc2.bias", 8)), f).name("fc2_bias").value();
        b.output(b.node("Add", y, f).name("residual2").value(), DataType.FLOAT, "batch", 5, 8);
        return b.build();
    }

    private static Value projection(GraphBuilder b, Value x, String name) {
        Value p = b.node("MatMul", x, b.initializer(b.randomFloats(name + ".weight", 8, 8))).name(name).value();
        return b.node("Add", b.initializer(b.randomFloats(name + ".bias", 8)), p).name(name + "_bias").value();
    }

    private static Value intoHeads(GraphBuilder b, Value x, Value target, String name) {
        Value r = b.node("Reshape", x, target).name(name + "_reshape").value();
        return b.node("Transpose", r).ints("perm", 0, 2, 1, 3).name(name + "_t").value();
    }

    /**
     * Two branches concatenated and split again: a = Relu(x·Wa) [.., 6], c = x·Wc [.., 8],
     * Concat(a, c) [.., 14] + a [14] bias, then Split [6, 8] and Slice [6:14] read the parts back:
     * {@code y = split0·Ua + split1·Uc + slice·Us}.
     */
    static Model concatSplit() {
        GraphBuilder b = new GraphBuilder(OPSET, 17);
        Value x = b.input("x", DataType.FLOAT, "batch", 4);
        Value a = b.node("Relu", b.node("MatMul", x, b.initializer(b.randomFloats("wa", 4, 6))).name("fa").value())
                .name("relu_a").value();
        Value c = b.node("MatMul", x, b.initializer(b.randomFloats("wc", 4, 8))).name("fc").value();
        Value cat = b.node("Concat", a, c).attr("axis", -1L).name("cat").value();
        cat = b.node("Add", cat, b.initializer(b.randomFloats("cat_bias", 14))).name("cat_bias").value();
        List<Value> parts = b.node("Split", cat, b.initializer(Tensor.ofLongs("sizes", new long[] {2}, 6, 8)))
                .attr("axis", 1L).outputs(2).name("split").build();
        Value s = b.node("Slice", cat, b.initializer(Tensor.ofLongs("starts", new long[] {1}, 6)),
                b.initializer(Tensor.ofLongs("ends", new long[] {1}, 14)),
                b.initializer(Tensor.ofLongs("axes", new long[] {1}, 1))).name("slice").value();
        Value ya = b.node("MatMul", parts.get(0), b.initializer(b.randomFloats("ua", 6, 3))).name("ua").value();
        Value yc = b.node("MatMul", parts.get(1), b.initializer(b.randomFloats("uc", 8, 3))).name("uc").value();
        Value ys = b.node("MatMul", s, b.initializer(b.randomFloats("us", 8, 3))).name("us").value();
        Value y = b.node("Add", b.node("Add", ya, yc).name("sum1").value(), ys).name("sum2").value();
        b.output(y, DataType.FLOAT, "batch", 3);
        return b.build();
    }

    /**
     * A 1×1 Conv whose output channels meet a [C] bias broadcast as [C, 1, 1], a [1, C, 1, 1]
     * scale, a scalar and a per-position [1, 1, 3, 3] mask before a second 1×1 Conv:
     * x [batch, 2, 3, 3] → 6 channels → 2.
     */
    static Model broadcasting() {
        GraphBuilder b = new GraphBuilder(OPSET, 19);
        Value x = b.input("x", DataType.FLOAT, "batch", 2, 3, 3);
        Value h = b.node("Conv", x, b.initializer(b.randomFloats("pw.weight", 6, 2, 1, 1))).name("pw").value();
        h = b.node("Add", h, b.initializer(b.randomFloats("bias_c11", 6, 1, 1))).name("bias").value();
        h = b.node("Mul", h, b.initializer(b.randomFloats("scale_1c11", 1, 6, 1, 1))).name("scale").value();
        h = b.node("Mul", h, b.initializer(Tensor.ofFloats("two", new long[0], 2f))).name("twice").value();
        h = b.node("Mul", h, b.initializer(b.randomFloats("mask_1133", 1, 1, 3, 3))).name("mask").value();
        Value y = b.node("Conv", h, b.initializer(b.randomFloats("out.weight", 2, 6, 1, 1))).name("out").value();
        b.output(y, DataType.FLOAT, "batch", 2, 3, 3);
        return b.build();
    }

    /**
     * An inverted-residual style block: 1×1 Conv 4 → 6, depthwise 3×3 Conv (group 6), Relu, 1×1
     * Conv 6 → 4, on x [batch, 4, 5, 5].
     */
    static Model depthwise() {
        GraphBuilder b = new GraphBuilder(OPSET, 23);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 5, 5);
        Value h = b.node("Conv", x, b.initializer(b.randomFloats("expand.weight", 6, 4, 1, 1))).name("expand").value();
        h = b.node("Conv", h, b.initializer(b.randomFloats("dw.weight", 6, 1, 3, 3)),
                b.initializer(b.randomFloats("dw.bias", 6))).attr("group", 6L).ints("pads", 1, 1, 1, 1)
                .name("dw").value();
        h = b.node("Relu", h).name("relu").value();
        Value y = b.node("Conv", h, b.initializer(b.randomFloats("project.weight", 4, 6, 1, 1))).name("project").value();
        b.output(y, DataType.FLOAT, "batch", 4, 5, 5);
        return b.build();
    }

    /** The value named {@code name} of the main graph. */
    static Value value(Model m, String name) {
        Value v = m.graph().valuesByName().get(name);
        if (v == null) {
            throw new IllegalArgumentException("no value '" + name + "'");
        }
        return v;
    }

    /** @return the dims of an initializer */
    static long[] dims(Model m, String name) {
        return m.graph().initializer(name).initializer().dims();
    }

    /**
     * Zeroes positions of an initializer along an axis: what removing channels does, for a weight
     * that contracts them.
     */
    static void zero(Model m, String name, int axis, int[] positions) {
        Value v = m.graph().initializer(name);
        Tensor t = v.initializer();
        float[] values = t.toFloatArray();
        long[] dims = t.dims();
        long inner = 1;
        for (int i = axis + 1; i < dims.length; i++) {
            inner *= dims[i];
        }
        TreeSet<Integer> drop = new TreeSet<>();
        for (int p : positions) {
            drop.add(p);
        }
        for (int i = 0; i < values.length; i++) {
            if (drop.contains((int) ((i / inner) % dims[axis]))) {
                values[i] = 0;
            }
        }
        m.graph().setInitializerData(v, Tensor.ofFloats(name, dims, values));
    }

    /** @return the channels of [0, width) not in {@code keep} */
    static int[] complement(int width, int[] keep) {
        List<Integer> out = new ArrayList<>();
        TreeSet<Integer> kept = new TreeSet<>();
        for (int k : keep) {
            kept.add(k);
        }
        for (int c = 0; c < width; c++) {
            if (!kept.contains(c)) {
                out.add(c);
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** @return member names of a group by kind, as {@link ChannelGroup#describe()} gives them */
    static Map<String, List<String>> members(ChannelGroup g) {
        return g.describe();
    }
}
