package dev.slimnx.passes.autodiff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Value;
import dev.slimnx.graph.tensor.DataType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
    void groupsOfTwo() {
        GradientCheck c = new GradientCheck(F, 104);
        Value x = c.weight("x", 2, 4, 5, 5);
        Value y = c.b().node("Conv", x, c.weight("w", 6, 2, 3, 3), c.weight("b", 6)).attr("group", 2L)
                .ints("pads", 1, 1, 1, 1).value();
        GradientCheck.Result r = c.check(y);
        assertEquals(3, r.gradients().weights().size());
    }

    @Test
    void depthwiseWithAChannelMultiplier() {
        // group == channels, two filters per channel (M = 2C): the MobileNet and EfficientViT form
        GradientCheck c = new GradientCheck(F, 105);
        Value x = c.weight("x", 2, 3, 6, 6);
        Value y = c.b().node("Conv", x, c.weight("w", 6, 1, 3, 3), c.weight("b", 6)).attr("group", 3L)
                .ints("pads", 1, 1, 1, 1).value();
        c.check(y);
    }

    @Test
    void depthwiseWithStrideTwoDilationTwoAndAsymmetricPads() {
        // rows: 9 + (0, 1) pads, stride 2, 3 taps 2 apart: windows cover rows 0..8 and the end pad
        // would crop row 8 from the transposed conv, so output_padding (not zeros) must restore it;
        // columns: 8 + (1, 0) pads, stride 2, 2 taps: column 7 is covered by the last window only
        GradientCheck c = new GradientCheck(F, 106);
        Value x = c.weight("x", 2, 4, 9, 8);
        Value y = c.b().node("Conv", x, c.weight("w", 4, 1, 3, 2)).attr("group", 4L).ints("strides", 2, 2)
                .ints("dilations", 2, 1).ints("pads", 0, 1, 1, 0).value();
        GradientCheck.Result r = c.check(y);
        assertTrue(r.gradients().model().graph().nodes().stream()
                .anyMatch(n -> n.is("ConvTranspose") && n.attribute("output_padding") != null));
    }

    @Test
    void groupsWithStrideTwoDilationTwoAndAsymmetricPads() {
        GradientCheck c = new GradientCheck(F, 107);
        Value x = c.weight("x", 1, 4, 9, 10);
        Value y = c.b().node("Conv", x, c.weight("w", 4, 2, 3, 3), c.weight("b", 4)).attr("group", 2L)
                .ints("strides", 2, 2).ints("dilations", 2, 2).ints("pads", 0, 2, 1, 0).value();
        c.check(y);
    }

    @Test
    void pointwise() {
        // the input is its own column matrix: no Slice, no Pad, and dx is a 1x1 Conv
        GradientCheck c = new GradientCheck(F, 111);
        Value x = c.weight("x", 2, 4, 3, 3);
        Value y = c.b().node("Conv", x, c.weight("w", 5, 4, 1, 1), c.weight("b", 5)).value();
        GradientCheck.Result r = c.check(y);
        assertTrue(r.gradients().model().graph().nodes().stream().noneMatch(n -> n.is("Slice") || n.is("Pad")
                || n.is("ConvTranspose")));
    }

    @Test
    void pointwiseWithStrideTwo() {
        GradientCheck c = new GradientCheck(F, 112);
        Value x = c.weight("x", 2, 3, 5, 4);
        c.check(c.b().node("Conv", x, c.weight("w", 2, 3, 1, 1)).ints("strides", 2, 2).value());
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2})
    void fewPositionsAndManyChannelsFoldTheBatchIntoTheProduct(long group) {
        // 2x2 outputs of 16 filters over 8 channels x 4 taps: the per-image products would
        // outweigh their inputs, so the batch is folded into one product
        GradientCheck c = new GradientCheck(F, 113);
        Value x = c.weight("x", 3, 8, 3, 3);
        Value y = c.b().node("Conv", x, c.weight("w", 16, 8 / group, 2, 2)).attr("group", group).value();
        GradientCheck.Result r = c.check(y);
        assertTrue(r.gradients().model().graph().nodes().stream().noneMatch(n -> n.is("ReduceSum")),
                "no per-image products summed");
    }

    @ParameterizedTest
    @ValueSource(strings = {"SAME_UPPER", "SAME_LOWER", "VALID"})
    void autoPad(String mode) {
        // columns: 6 at stride 2 with 3 taps need one pad, at the end (UPPER) or the start (LOWER)
        GradientCheck c = new GradientCheck(F, 108);
        Value x = c.weight("x", 1, 2, 7, 6);
        Value y = c.b().node("Conv", x, c.weight("w", 3, 2, 3, 3), c.weight("b", 3)).ints("strides", 2, 2)
                .attr("auto_pad", mode).value();
        c.check(y);
    }

    @Test
    void spatialSizeKnownOnlyAtRunTime() {
        // rows: 8 + (0, 1) pads at stride 2: the transposed conv without its end pad is one row too
        // long and is cropped; columns: 8 at stride 2 with 3 taps leave column 7 uncovered (padded)
        GradientCheck c = new GradientCheck(F, 109);
        Value x = c.op("Mul", c.dynamicInput("x", new long[] {2, 2, 8, 8}, 2, 2, "h", "w"), c.weight("a", 2, 1, 1));
        Value y = c.b().node("Conv", x, c.weight("w", 4, 1, 3, 3)).attr("group", 2L).ints("strides", 2, 2)
                .ints("pads", 0, 0, 1, 0).value();
        GradientCheck.Result r = c.check(y);
        assertTrue(r.gradients().model().graph().nodes().stream().anyMatch(n -> n.is("Pad")));
    }

    @Test
    void samePaddingOfAnInputOfRunTimeSizeIsRefusedUpFront() {
        GradientCheck c = new GradientCheck(F, 110);
        Value x = c.op("Mul", c.dynamicInput("x", new long[] {1, 2, 5, 5}, 1, 2, "h", "w"), c.weight("a", 2, 1, 1));
        Value y = c.b().node("Conv", x, c.weight("w", 2, 2, 3, 3)).attr("auto_pad", "SAME_UPPER").name("same").value();
        NotDifferentiableException e = assertThrows(NotDifferentiableException.class, () -> c.check(y));
        assertTrue(e.getMessage().contains("Conv 'same': auto_pad SAME_UPPER needs the input's spatial size at build time"),
                e.getMessage());
    }
}
