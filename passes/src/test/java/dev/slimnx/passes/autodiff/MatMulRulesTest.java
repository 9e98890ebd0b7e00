package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Finite-difference checks of MatMul (batched, broadcast, 1-D) and Gemm (every transpose, α, β, C). */
class MatMulRulesTest {
    private static final DataType D = DataType.DOUBLE;

    private static GradientCheck.Result matmul(long[] a, long[] b) {
        GradientCheck c = new GradientCheck(D, 31);
        return c.check(c.op("MatMul", c.weight("a", a), c.weight("b", b)));
    }

    @Test
    void plainMatrices() {
        matmul(new long[] {2, 3}, new long[] {3, 4});
    }

    @Test
    void batchedOnBothSides() {
        matmul(new long[] {2, 2, 3}, new long[] {2, 3, 4});
    }

    @Test
    void batchBroadcastAgainstSizeOne() {
        matmul(new long[] {2, 1, 2, 3}, new long[] {1, 3, 3, 2});
    }

    @Test
    void batchBroadcastAgainstMissingAxes() {
        matmul(new long[] {3, 4}, new long[] {2, 2, 4, 3});
    }

    @Test
    void weightAgainstBatchedActivationsTakesOneGemm() {
        GradientCheck.Result r = matmul(new long[] {2, 3, 4}, new long[] {4, 5});
        assertTrue(r.gradients().model().graph().nodes().stream().anyMatch(n -> n.is("Gemm")),
                "the 2-D weight's gradient is one Gemm over the flattened batch");
    }

    @Test
    void leftVector() {
        matmul(new long[] {3}, new long[] {2, 3, 4});
    }

    @Test
    void rightVector() {
        matmul(new long[] {2, 4, 3}, new long[] {3});
    }

    @Test
    void dotProduct() {
        matmul(new long[] {5}, new long[] {5});
    }

    @ParameterizedTest
    @CsvSource({"0,0", "0,1", "1,0", "1,1"})
    void gemmTransposes(int transA, int transB) {
        GradientCheck c = new GradientCheck(D, 32);
        Value a = c.weight("a", transA == 1 ? new long[] {3, 2} : new long[] {2, 3});
        Value b = c.weight("b", transB == 1 ? new long[] {4, 3} : new long[] {3, 4});
        Value bias = c.weight("c", 4);
        Value y = c.b().node("Gemm", a, b, bias).attr("transA", transA).attr("transB", transB).value();
        GradientCheck.Result r = c.check(y);
        assertEquals(3, r.gradients().weights().size());
    }

    @Test
    void gemmAlphaBetaAndAColumnBias() {
        GradientCheck c = new GradientCheck(D, 33);
        Value y = c.b().node("Gemm", c.weight("a", 2, 3), c.weight("b", 4, 3), c.weight("c", 2, 1))
                .attr("transB", 1L).attr("alpha", 0.5f).attr("beta", 2.0f).value();
        c.check(y);
    }

    @Test
    void gemmWithoutBias() {
        GradientCheck c = new GradientCheck(D, 34);
        c.check(c.op("Gemm", c.weight("a", 2, 3), c.weight("b", 3, 4)));
    }
}
