package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import org.junit.jupiter.api.Test;

/**
 * Finite-difference checks of the Conv rule, in float: ONNX Runtime's CPU provider has Conv and
 * ConvTranspose kernels for float only.
 */
class ConvRulesTest {
    private static final DataType F = DataType.FLOAT;

    @Test
    void patchEmbeddingWithKernelEqualToStride() {
        GradientCheck c = new GradientCheck(F, 101);
        Value x = c.input("x", 2, 1, 6, 6);
        Value y = c.b().node("Conv", x, c.weight("w", 4, 1, 3, 3), c.weight("b", 4)).ints("strides", 3, 3)
                .ints("kernel_shape", 3, 3).value();
        GradientCheck.Result r = c.check(y);
        assertEquals(2, r.gradients().weights().size());
    }

    @Test
    void stridePadsAndDilationWithTheInputGradient() {
        // x is a weight too, so dx is checked; 8 rows at stride 2 leave the last row uncovered
        GradientCheck c = new GradientCheck(F, 102);
        Value x = c.weight("x", 1, 2, 8, 7);
        Value y = c.b().node("Conv", x, c.weight("w", 3, 2, 2, 3)).ints("strides", 2, 1).ints("dilations", 2, 1)
                .ints("pads", 1, 0, 0, 1).value();
        c.check(y);
    }

    @Test
    void oneDimensional() {
        GradientCheck c = new GradientCheck(F, 103);
        Value x = c.weight("x", 2, 3, 9);
        Value y = c.b().node("Conv", x, c.weight("w", 2, 3, 3), c.weight("b", 2)).ints("strides", 2).ints("pads", 1, 1)
                .value();
        c.check(y);
    }

    @Test
    void groupedConvolutionIsRefusedUpFront() {
        GradientCheck c = new GradientCheck(F, 104);
        Value y = c.b().node("Conv", c.weight("x", 1, 4, 5, 5), c.weight("w", 4, 1, 3, 3)).attr("group", 4L)
                .name("depthwise").value();
        NotDifferentiableException e = assertThrows(NotDifferentiableException.class, () -> c.check(y));
        assertTrue(e.getMessage().contains("Conv 'depthwise': grouped convolution (group 4) has no rule yet"),
                e.getMessage());
    }
}
