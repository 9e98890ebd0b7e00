package dev.slimnx.passes.autodiff;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks of the data-movement rules. A Mul by a second weight follows each op so
 * the loss is not a plain function of the op's output order (a permutation of a weight compared
 * with a random target would pass many wrong rules).
 */
class ShapeRulesTest {
    private static final DataType D = DataType.DOUBLE;

    /** {@code op(x) * w}, with w of the output's shape. */
    private static void check(GradientCheck c, Value y, long... outDims) {
        c.check(c.op("Mul", y, c.weight("w", outDims)));
    }

    @Test
    void identity() {
        GradientCheck c = new GradientCheck(D, 41);
        check(c, c.op("Identity", c.weight("x", 2, 3)), 2, 3);
    }

    @Test
    void reshape() {
        GradientCheck c = new GradientCheck(D, 42);
        check(c, c.op("Reshape", c.weight("x", 2, 6), c.longs("shape", 3, -1)), 3, 4);
    }

    @Test
    void flatten() {
        GradientCheck c = new GradientCheck(D, 43);
        check(c, c.b().node("Flatten", c.weight("x", 2, 3, 2)).attr("axis", 2L).value(), 6, 2);
    }

    @Test
    void squeeze() {
        GradientCheck c = new GradientCheck(D, 44);
        check(c, c.op("Squeeze", c.weight("x", 2, 1, 3), c.longs("axes", 1)), 2, 3);
    }

    @Test
    void unsqueeze() {
        GradientCheck c = new GradientCheck(D, 45);
        check(c, c.op("Unsqueeze", c.weight("x", 2, 3), c.longs("axes", 0, 3)), 1, 2, 3, 1);
    }

    @Test
    void transpose() {
        GradientCheck c = new GradientCheck(D, 46);
        check(c, c.b().node("Transpose", c.weight("x", 2, 3, 4)).ints("perm", 1, 2, 0).value(), 3, 4, 2);
    }

    @Test
    void transposeWithTheDefaultPermutation() {
        GradientCheck c = new GradientCheck(D, 47);
        check(c, c.op("Transpose", c.weight("x", 2, 3, 4)), 4, 3, 2);
    }

    @Test
    void expand() {
        GradientCheck c = new GradientCheck(D, 48);
        check(c, c.op("Expand", c.weight("x", 3, 1), c.longs("shape", 2, 3, 4)), 2, 3, 4);
    }

    @Test
    void castBetweenFloatAndDouble() {
        GradientCheck c = new GradientCheck(DataType.FLOAT, 49);
        Value x = c.weight("x", 2, 3);
        Value wide = c.b().node("Cast", x).attr("to", (long) DataType.DOUBLE.code()).value();
        Value squared = c.op("Mul", wide, wide);
        Value narrow = c.b().node("Cast", squared).attr("to", (long) DataType.FLOAT.code()).value();
        check(c, narrow, 2, 3);
    }

    @Test
    void reshapeIntoHeadsAndTranspose() {
        // the attention idiom: [B, N, H*d] -> [B, N, H, d] -> [B, H, N, d], scores, back to [B, N, H*d]
        GradientCheck c = new GradientCheck(D, 50);
        Value x = c.weight("x", 2, 3, 4);
        Value heads = c.b().node("Transpose", c.op("Reshape", x, c.longs("heads", 2, 3, 2, 2)))
                .ints("perm", 0, 2, 1, 3).value();
        Value keys = c.b().node("Transpose", heads).ints("perm", 0, 1, 3, 2).value();
        Value scores = c.b().node("Softmax", c.op("MatMul", heads, keys)).attr("axis", -1L).value();
        Value mixed = c.op("MatMul", scores, heads);
        Value back = c.op("Reshape", c.b().node("Transpose", mixed).ints("perm", 0, 2, 1, 3).value(),
                c.longs("merged", 2, 3, 4));
        check(c, back, 2, 3, 4);
    }
}
