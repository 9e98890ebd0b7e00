package dev.slimnx.graph.infer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.TestModels;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.graph.tensor.Shape;
import dev.slimnx.graph.tensor.Tensor;
import dev.slimnx.graph.tensor.ValueType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Compares inference with the expected outputs of the ONNX node tests: for every graph output
 * whose inferred shape is fully static, shape and element type must equal those of
 * {@code test_data_set_0/output_i.pb}. The declared output types are erased first, so what is
 * compared is what inference computed.
 */
class NodeTestAgreementTest {
    @Test
    void staticInferredShapesAgreeWithExpectedOutputs() throws Exception {
        assumeTrue(TestModels.available(), "libonnx-testdata is not installed");
        int compared = 0;
        int typesCompared = 0;
        int notStatic = 0;
        int noRule = 0;
        List<String> disagreements = new ArrayList<>();
        java.util.Map<String, Integer> uninferredOps = new java.util.TreeMap<>();
        for (Path modelFile : TestModels.models("node")) {
            Path data = modelFile.resolveSibling("test_data_set_0");
            Model m;
            try {
                m = OnnxReader.read(modelFile);
            } catch (Exception e) {
                continue;
            }
            List<Value> outputs = m.graph().outputs();
            List<Boolean> tensorOutputs = outputs.stream().map(v -> v.type() instanceof ValueType.TensorType).toList();
            for (Value v : outputs) {
                v.setType(null);
            }
            for (Value v : m.graph().valueInfos()) {
                v.setType(null);
            }
            InferenceResult r = ShapeInference.infer(m);
            for (int i = 0; i < outputs.size(); i++) {
                Path pb = data.resolve("output_" + i + ".pb");
                if (!Files.exists(pb) || !tensorOutputs.get(i)) { // sequences and optionals are not TensorProtos
                    continue;
                }
                Tensor expected = OnnxReader.readTensor(pb);
                String name = modelFile.getParent().getFileName() + " output " + i;
                DataType type = r.elemTypeOf(outputs.get(i));
                if (type != null) {
                    typesCompared++;
                    // NOTE: the ONNX test data stores expected BFLOAT16 outputs as UINT16 bit patterns.
                    boolean bf16 = type == DataType.BFLOAT16 && expected.dataType() == DataType.UINT16;
                    if (type != expected.dataType() && !bf16) {
                        disagreements.add(name + ": type " + type + " != expected " + expected.dataType());
                    }
                }
                Shape shape = r.shapeOf(outputs.get(i));
                if (shape == null && type == null) {
                    noRule++;
                    Value out = outputs.get(i);
                    uninferredOps.merge(out.producer() == null ? "(input)" : out.producer().opType(), 1, Integer::sum);
                } else if (shape == null || !shape.isStatic()) {
                    notStatic++;
                } else {
                    compared++;
                    if (!Arrays.equals(shape.sizes(), expected.dims())) {
                        disagreements.add(name + ": shape " + shape + " != expected " + Arrays.toString(expected.dims()));
                    }
                }
            }
        }
        System.out.println("node tests: " + compared + " static shapes compared, " + typesCompared
                + " element types compared, " + notStatic + " outputs not fully static, " + noRule
                + " outputs not inferred, " + disagreements.size() + " disagreements");
        System.out.println("outputs not inferred, by op: " + uninferredOps);
        disagreements.stream().limit(80).forEach(System.out::println);
        assertTrue(compared > 500, "too few static shapes compared: " + compared);
        assertEquals(List.of(), disagreements);
    }
}
