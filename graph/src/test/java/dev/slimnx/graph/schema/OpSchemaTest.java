package dev.slimnx.graph.schema;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class OpSchemaTest {
    @Test
    void findsOpsByDomainAndTreatsAiOnnxAsDefault() {
        assertEquals(Optional.of(OpSchema.MAT_MUL), OpSchema.find("", "MatMul"));
        assertEquals(Optional.of(OpSchema.MAT_MUL), OpSchema.find("ai.onnx", "MatMul"));
        assertEquals(Optional.empty(), OpSchema.find("com.microsoft", "MatMul"));
        assertEquals(Optional.of(OpSchema.ML_LABEL_ENCODER), OpSchema.find("ai.onnx.ml", "LabelEncoder"));
        assertEquals(Optional.empty(), OpSchema.find("", "Frobnicate"));
    }

    @Test
    void versionAtPicksTheNewestSinceVersionNotAfterTheOpset() {
        assertArrayEquals(new int[] {1, 5, 13, 14, 19, 21, 23, 24, 25}, OpSchema.RESHAPE.sinceVersions());
        assertEquals(Optional.of(14), OpSchema.RESHAPE.versionAt(17));
        assertEquals(Optional.of(1), OpSchema.RESHAPE.versionAt(4));
        assertEquals(Optional.empty(), OpSchema.LAYER_NORMALIZATION.versionAt(16));
        assertEquals(Optional.of(17), OpSchema.LAYER_NORMALIZATION.versionAt(18));
        assertEquals(Optional.empty(), OpSchema.UPSAMPLE.versionAt(10));
        assertEquals(Optional.of(9), OpSchema.UPSAMPLE.versionAt(9));
    }

    @Test
    void signaturesFollowArityChanges() {
        assertEquals(1, OpSchema.REDUCE_MEAN.signatureAt(17).orElseThrow().maxInputs());
        assertEquals(2, OpSchema.REDUCE_MEAN.signatureAt(18).orElseThrow().maxInputs());
        assertEquals(2, OpSchema.REDUCE_SUM.signatureAt(13).orElseThrow().maxInputs());
        assertEquals(List.of("starts", "ends").stream().sorted().toList(),
                OpSchema.SLICE.signatureAt(9).orElseThrow().requiredAttributes());
        assertEquals(5, OpSchema.SLICE.signatureAt(13).orElseThrow().maxInputs());
        assertEquals(OpSchema.VARIADIC, OpSchema.CONCAT.signatureAt(13).orElseThrow().maxInputs());
        assertEquals(List.of("num_groups"), OpSchema.GROUP_NORMALIZATION.signatureAt(21).orElseThrow().requiredAttributes());
    }

    @Test
    void everyOpOfTheTaskListIsKnown() {
        for (String op : List.of("Conv", "ConvTranspose", "MatMul", "Gemm", "Einsum", "Add", "Sub", "Mul", "Div", "Pow",
                "Sqrt", "Reciprocal", "Neg", "Erf", "Exp", "Tanh", "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid",
                "HardSwish", "Gelu", "Softmax", "LayerNormalization", "BatchNormalization", "InstanceNormalization",
                "GroupNormalization", "ReduceMean", "ReduceSum", "ReduceMax", "Reshape", "Transpose", "Concat", "Split",
                "Slice", "Gather", "GatherElements", "Shape", "Size", "Unsqueeze", "Squeeze", "Flatten", "Expand", "Tile",
                "Where", "Equal", "Less", "Greater", "Not", "And", "Cast", "CastLike", "Constant", "ConstantOfShape",
                "Range", "Clip", "Pad", "Resize", "GlobalAveragePool", "AveragePool", "MaxPool", "Identity", "Dropout",
                "TopK", "ArgMax", "Trilu", "DepthToSpace", "SpaceToDepth", "Attention", "RMSNormalization")) {
            assertTrue(OpSchema.find("", op).isPresent(), op);
        }
        assertTrue(OpSchema.values().length > 200);
    }

    @Test
    void sinceVersionsAreAscendingAndSignaturesStartAtTheFirst() {
        for (OpSchema s : OpSchema.values()) {
            int[] v = s.sinceVersions();
            for (int i = 1; i < v.length; i++) {
                assertTrue(v[i - 1] < v[i], s + " since-versions not ascending");
            }
            assertEquals(v[0], s.signatures().get(0).since(), s.name());
            assertTrue(v[v.length - 1] <= OpSchema.LATEST_ONNX_OPSET, s.name());
        }
    }
}
