package dev.slimnx.graph.stats;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Tensor;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** MAC counts are checked against numbers worked out by hand in each test's comment. */
class ModelStatsTest {

    private static long onlyMacs(ModelStats s) {
        assertEquals(1, s.nodeMacs().size());
        return s.nodeMacs().get(0).macs();
    }

    @Test
    void groupedConv3x3() {
        // out [1,16,16,16] = 4096 elements, each 2 input channels (8/4 groups) x 3x3: 4096 * 18
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 1, 8, 16, 16);
        Value w = b.initializer(b.randomFloats("w", 16, 2, 3, 3));
        b.output(b.node("Conv", x, w).attr("group", 4L).attr("pads", 1, 1, 1, 1).value());
        ModelStats s = ModelStats.of(b.build());
        assertEquals(73_728, onlyMacs(s));
        assertTrue(s.macsExact());
        assertFalse(s.dynamicDimsTakenAsOne());
    }

    @Test
    void onnxRuntimesQuantizedMatMulsCountAsTheMatMulTheyReplace() {
        // x [1,10,16] @ W [16,8]: 10 * 8 * 16 = 1280 each, whether INT8 dynamic or INT4 blocks
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 10, 16);
        Value w8 = b.initializer(Tensor.ofIntegers("w8", DataType.INT8, new long[] {16, 8}, new long[16 * 8]));
        Value scale = b.initializer(Tensor.ofFloats("scale", new long[0], 0.1f));
        Value y = b.node("DynamicQuantizeMatMul", x, w8, scale).domain("com.microsoft").value();
        Value w4 = b.initializer(Tensor.ofIntegers("w4", DataType.UINT8, new long[] {8, 1, 8}, new long[8 * 8]));
        Value scales = b.initializer(Tensor.ofFloats("scales", new long[] {8}, new float[8]));
        Value z = b.node("MatMulNBits", x, w4, scales).domain("com.microsoft")
                .attr("K", 16L).attr("N", 8L).attr("bits", 4L).attr("block_size", 16L).value();
        b.output(y);
        b.output(z);
        ModelStats s = ModelStats.of(b.build());
        assertEquals(List.of(1280L, 1280L), s.nodeMacs().stream().map(NodeMacs::macs).toList());
        assertTrue(s.macsExact());
    }

    @Test
    void batchedAttentionMatMulTakesBatchAsOne() {
        // Q.K^T: batch(1) x heads 4 x M 10 x N 10 x K 16
        GraphBuilder b = new GraphBuilder(17);
        Value q = b.input("q", DataType.FLOAT, "batch", 4, 10, 16);
        Value k = b.input("k", DataType.FLOAT, "batch", 4, 16, 10);
        b.output(b.op("MatMul", q, k));
        ModelStats s = ModelStats.of(b.build());
        assertEquals(6_400, onlyMacs(s));
        assertEquals(6_400, s.totalMacs());
        assertTrue(s.dynamicDimsTakenAsOne());
        assertEquals(List.of("q[0] (batch)", "k[0] (batch)"), s.dynamicDims().stream().map(Object::toString).toList());
        assertTrue(s.macsExact());
    }

    @Test
    void gemmWithTransB() {
        // A [1,64] x B^T with B [10,64]: M 1 x N 10 x K 64
        GraphBuilder b = new GraphBuilder(17);
        Value a = b.input("a", DataType.FLOAT, "batch", 64);
        Value w = b.initializer(b.randomFloats("w", 10, 64));
        Value bias = b.initializer(b.randomFloats("bias", 10));
        b.output(b.node("Gemm", a, w, bias).attr("transB", 1L).value());
        assertEquals(640, onlyMacs(ModelStats.of(b.build())));
    }

    @Test
    void convTransposeCountsPerInputElement() {
        // input [1,8,4,4] = 128 elements, each spread over 4 output channels x 3x3
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 1, 8, 4, 4);
        Value w = b.initializer(b.randomFloats("w", 8, 4, 3, 3));
        b.output(b.node("ConvTranspose", x, w).attr("strides", 2, 2).value());
        assertEquals(4_608, onlyMacs(ModelStats.of(b.build())));
    }

    @Test
    void einsumContraction() {
        // b1 h2 i3 j5 d4 -> 120
        GraphBuilder b = new GraphBuilder(17);
        Value q = b.input("q", DataType.FLOAT, 1, 2, 3, 4);
        Value k = b.input("k", DataType.FLOAT, 1, 2, 5, 4);
        b.output(b.node("Einsum", q, k).attr("equation", "bhid,bhjd->bhij").value());
        assertEquals(120, onlyMacs(ModelStats.of(b.build())));
    }

    @Test
    void reshapeOfSymbolicBatchResolvesOnceBatchIsOne() {
        // [batch,197,768] -> [-1,768] is [197,768] at batch 1; x W[768,10]: 197 * 768 * 10
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 197, 768);
        Value target = b.initializer(Tensor.ofLongs("target", new long[] {2}, -1, 768));
        Value w = b.initializer(b.randomFloats("w", 768, 10));
        b.output(b.op("MatMul", b.op("Reshape", x, target), w));
        ModelStats s = ModelStats.of(b.build());
        assertEquals(1_512_960, s.totalMacs());
        assertTrue(s.macsExact());
    }

    @Test
    void unknownDimsMakeTheCountInexact() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 2, 8);
        Value w = b.input("w", DataType.FLOAT, 8, 3);
        Value hidden = b.node("Custom", x).domain("com.example").value();
        b.output(b.op("MatMul", hidden, w));
        ModelStats s = ModelStats.of(b.build());
        assertFalse(s.macsExact());
    }

    @Test
    void parametersBytesHistogramAndLargestTensors() {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, "batch", 4, 6);
        Value w1 = b.initializer(b.randomFloats("w1", 24, 10));
        Value w2 = b.initializer(b.randomFloats("w2", 10, 3));
        Value target = b.initializer(Tensor.ofLongs("target", new long[] {2}, 0, -1));
        Value half = b.initializer(Tensor.ofRaw("h", DataType.FLOAT16, new long[] {5},
                java.nio.ByteBuffer.allocate(10)));
        Value flat = b.op("Reshape", x, target);
        Value y = b.op("Relu", b.op("MatMul", flat, w1));
        b.output(b.op("Add", b.op("Relu", b.op("MatMul", y, w2)), b.op("Cast", half)));
        ModelStats s = ModelStats.of(b.build());

        assertEquals(240 + 30 + 2 + 5, s.parameterCount());
        assertEquals(240 + 30 + 5, s.weightCount());
        assertEquals(Map.of(DataType.FLOAT, 270L, DataType.INT64, 2L, DataType.FLOAT16, 5L), s.parametersByType());
        assertEquals(270 * 4 + 2 * 8 + 5 * 2, s.initializerBytes());
        assertEquals(Map.of(DataType.FLOAT, 1080L, DataType.INT64, 16L, DataType.FLOAT16, 10L), s.bytesByType());

        assertEquals(List.of("MatMul", "Relu", "Add", "Cast", "Reshape"), List.copyOf(s.opHistogram().keySet()));
        assertEquals(2, s.opHistogram().get("MatMul"));

        List<TensorSize> largest = s.largestTensors();
        assertEquals(List.of("w1", "w2", "target", "h"), largest.stream().map(TensorSize::name).toList());
        assertArrayEquals(new long[] {24, 10}, largest.get(0).dims());
        assertEquals(960, largest.get(0).bytes());

        // MatMul 1: [1,24]x[24,10] = 240; MatMul 2: [1,10]x[10,3] = 30
        assertEquals(List.of(240L, 30L), s.nodeMacs().stream().map(NodeMacs::macs).toList());
        assertEquals(270, s.totalMacs());
    }

    @Test
    void onlyTenLargestTensorsAreListed() {
        GraphBuilder b = new GraphBuilder(17);
        Value acc = b.input("x", DataType.FLOAT, 1);
        for (int i = 1; i <= 12; i++) {
            acc = b.op("Add", acc, b.initializer(b.randomFloats("t" + i, i)));
        }
        b.output(acc);
        List<TensorSize> largest = ModelStats.of(b.build()).largestTensors();
        assertEquals(10, largest.size());
        assertEquals("t12", largest.get(0).name());
        assertEquals("t3", largest.get(9).name());
    }
}
