package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimnx.graph.Model;
import dev.slimnx.graph.Node;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.reference.ReferenceModel;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.validate.report.Reports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ExportCommandTest {
    @TempDir
    Path dir;

    private static Path reference(String name) throws Exception {
        return ReferenceModels.locate().get(name).file();
    }

    private List<String> filesIn(Path folder) throws Exception {
        try (Stream<Path> s = Files.list(folder)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void everyReferenceModelRoundTripsThroughTheOrtFormat() throws Exception {
        for (ReferenceModel m : ReferenceModels.locate().all()) {
            Path folder = Files.createDirectory(dir.resolve(m.name()));
            Path out = folder.resolve(m.name() + ".ort");
            CliRun r = CliRun.of("export", m.file().toString(), "-o", out.toString(), "--format", "ort");
            assertEquals(0, r.exitCode(), m.name() + ": " + r.err());
            assertTrue(r.out().contains("round trip: ONNX Runtime loaded " + m.name() + ".ort"), r.out());
            boolean images = m.task() != ReferenceModel.Task.PACKED && m.task() != ReferenceModel.Task.DETECTION;
            assertEquals(images, r.out().contains("and 8 test images"), r.out());
            assertTrue(r.out().contains("optimization level basic"), r.out());
            assertEquals(java.util.Set.of(ExportCommand.OPERATOR_CONFIG, m.name() + ".ort"), java.util.Set.copyOf(filesIn(folder)));
            // an ORT-format file is a flatbuffer whose file identifier (bytes 4..7) is "ORTM"
            byte[] head = Arrays4.head(out);
            assertEquals("ORTM", new String(head, 4, 4, java.nio.charset.StandardCharsets.US_ASCII), m.name());
            String config = Files.readString(folder.resolve(ExportCommand.OPERATOR_CONFIG));
            assertTrue(config.lines().anyMatch(l -> l.startsWith("ai.onnx;17;") && l.contains("MatMul")), config);
        }
    }

    @Test
    void onnxFormatWithFixedShapesHasStaticInputsAndOutputs() throws Exception {
        Path out = dir.resolve("vit-fixed.onnx");
        CliRun r = CliRun.of("export", reference("vit").toString(), "-o", out.toString(), "--format", "onnx",
                "--fix-shape", "input=1x1x28x28");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("fixed input shapes: input [1, 1, 28, 28]"), r.out());
        assertTrue(r.out().contains("on 2 random input sets and 1 test image"), r.out());
        Model m = OnnxReader.read(out);
        assertTrue(m.graph().inputs().get(0).shape().isStatic());
        assertTrue(m.graph().outputs().get(0).shape().isStatic(), m.graph().outputs().get(0).shape().toString());
        assertEquals(List.of("vit-fixed.onnx"), filesIn(dir));
    }

    @Test
    void raisingTheOpsetMovesReduceAxesToAnInput() throws Exception {
        Path out = dir.resolve("mobilevit18.onnx");
        CliRun r = CliRun.of("export", reference("mobilevit").toString(), "-o", out.toString(), "--format", "onnx",
                "--target-opset", "18");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("opset 17 -> 18: ReduceMean axes attribute -> input (1 node)"), r.out());
        Model m = OnnxReader.read(out);
        assertEquals(18, m.opsetVersion(""));
        Node mean = m.graph().nodes().stream().filter(n -> n.is("ReduceMean")).findFirst().orElseThrow();
        assertEquals(2, mean.inputs().size());
        assertEquals(null, mean.attribute("axes"));
    }

    @Test
    void loweringPastAChangedOpIsRefusedNamingIt() throws Exception {
        Path out = dir.resolve("vit12.onnx");
        CliRun r = CliRun.of("export", reference("vit").toString(), "-o", out.toString(), "--target-opset", "12");
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("Softmax (changed at opset 13)"), r.err());
        assertFalse(Files.exists(out));
    }

    /** MatMul → Erf → Relu: NNAPI's table lacks Erf, CoreML's has all three. */
    private Path erfModel() throws Exception {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 1, 8);
        Value w = b.initializer(b.randomFloats("w", 8, 4));
        Value y = b.op("Relu", b.op("Erf", b.op("MatMul", x, w)));
        b.output(y, DataType.FLOAT, 1, 4);
        Path file = dir.resolve("erf.onnx");
        OnnxWriter.write(b.build(), file);
        return file;
    }

    @Test
    void checkMobileNamesTheUnsupportedOpAndCountsPartitions() throws Exception {
        Path model = erfModel();
        Path report = dir.resolve("mobile.json");
        CliRun r = CliRun.of("export", model.toString(), "--check-mobile", "nnapi,coreml", "--report", report.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("check-mobile nnapi (Android NNAPI): 2 of 3 nodes taken (67%), 2 partitions"), r.out());
        assertTrue(r.out().contains("not in nnapi's table -> exact GELU's Erf runs on the CPU"), r.out());
        assertTrue(r.out().contains("check-mobile coreml (Apple CoreML (ML Program)): 3 of 3 nodes taken (100%), 1 partition"),
                r.out());
        JsonNode json = Reports.json().readTree(Files.readString(report));
        assertEquals(ExportCommand.SCHEMA, json.get("schema").asText());
        JsonNode nnapi = json.get("check_mobile").get(0);
        assertEquals("nnapi", nnapi.get("ep").asText());
        assertEquals(2, nnapi.get("partitions").asInt());
        assertEquals("Erf", nnapi.get("not_taken").get(0).get("op").asText());
        assertEquals(0, json.get("check_mobile").get(1).get("not_taken").size());
    }

    /**
     * A QDQ Conv: the weight reaches the Conv through a DequantizeLinear of an int8 initializer,
     * which NNAPI takes as a node unit, the weight a constant (its table wants Conv's weights and
     * bias constant). CoreML takes no Q/DQ, so for it the bias is not constant, and the fix it is
     * given is the float model, not a constant folding that cannot help.
     */
    @Test
    void checkMobileSeesWeightsDequantizedFromInitializersAsConstant() throws Exception {
        GraphBuilder b = new GraphBuilder(17);
        Value x = b.input("x", DataType.FLOAT, 1, 1, 4, 4);
        Value scale = b.initializer(dev.slimnx.graph.tensor.Tensor.ofFloats("scale", new long[0], 0.05f));
        Value zero = b.initializer(dev.slimnx.graph.tensor.Tensor.ofIntegers("zero", DataType.INT8, new long[0], 0));
        Value q = b.initializer(dev.slimnx.graph.tensor.Tensor.ofIntegers("wq", DataType.INT8, new long[] {2, 1, 3, 3},
                1, -2, 3, -4, 5, -6, 7, -8, 9, 9, 8, 7, 6, 5, 4, 3, 2, 1));
        Value xdq = b.op("DequantizeLinear", b.op("QuantizeLinear", x, scale, zero), scale, zero);
        Value bias = b.op("DequantizeLinear",
                b.initializer(dev.slimnx.graph.tensor.Tensor.ofIntegers("bq", DataType.INT32, new long[] {2}, 20, -20)),
                b.initializer(dev.slimnx.graph.tensor.Tensor.ofFloats("bscale", new long[0], 0.0025f)));
        Value y = b.op("Conv", xdq, b.op("DequantizeLinear", q, scale, zero), bias);
        b.output(y, DataType.FLOAT, 1, 2, 2, 2);
        Path model = dir.resolve("qdq-conv.onnx");
        OnnxWriter.write(b.build(), model);
        CliRun r = CliRun.of("export", model.toString(), "--check-mobile", "nnapi,coreml");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("check-mobile nnapi (Android NNAPI): 5 of 5 nodes taken (100%), 1 partition"), r.out());
        assertTrue(r.out().contains("check-mobile coreml (Apple CoreML (ML Program)): 0 of 5 nodes taken (0%)"), r.out());
        assertTrue(r.out().contains("input 2 is not constant -> the CoreML table has no quantized ops"), r.out());
        assertFalse(r.out().contains("fold it into a constant"), r.out());
    }

    @Test
    void checkMobileAsksForFixedShapesAndTakesMoreWithThem() throws Exception {
        CliRun dynamic = CliRun.of("export", reference("mobilevitv2").toString(), "--check-mobile", "nnapi");
        assertEquals(0, dynamic.exitCode(), dynamic.err());
        assertTrue(dynamic.out().contains("-> --fix-shape input=1x1x28x28"), dynamic.out());
        CliRun fixed = CliRun.of("export", reference("mobilevitv2").toString(), "--check-mobile", "nnapi",
                "--fix-shape", "input=1x1x28x28");
        assertEquals(0, fixed.exitCode(), fixed.err());
        assertFalse(fixed.out().contains("dynamic shape"), fixed.out());
        assertTrue(fixed.out().contains("caveat, not checked: Split: Splits must divide the axis evenly"), fixed.out());
        assertTrue(taken(fixed.out()) > taken(dynamic.out()), dynamic.out() + fixed.out());
    }

    private static int taken(String out) {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile(": (\\d+) of \\d+ nodes taken").matcher(out);
        assertTrue(m.find(), out);
        return Integer.parseInt(m.group(1));
    }

    @Test
    void badInputIsOneLineWithExitTwoAndNothingWritten() throws Exception {
        Path vit = reference("vit");
        Path out = dir.resolve("out.ort");
        String[][] cases = {
                {"export", dir.resolve("missing.onnx").toString(), "-o", out.toString()},
                {"export", vit.toString(), "-o", out.toString(), "--fix-shape", "input=1xAx28x28"},
                {"export", vit.toString(), "-o", out.toString(), "--fix-shape", "image=1x1x28x28"},
                {"export", vit.toString(), "-o", out.toString(), "--fix-shape", "input=1x3x28x28"},
                {"export", vit.toString(), "-o", out.toString(), "--check-mobile", "nnapi,tpu"},
                {"export", vit.toString(), "-o", out.toString(), "--format", "tflite"},
                {"export", vit.toString(), "-o", dir.resolve("out.onnx").toString(), "--format", "ort"},
        };
        String[] expected = {"missing.onnx: no such file", "--fix-shape wants NAME=D1xD2", "not an input of",
                "gives 3 at axis 1", "unknown execution provider 'tpu'; known: nnapi, coreml", "--format must be ort or onnx",
                "out.onnx: --format ort writes an ORT-format file; name it *.ort"};
        for (int i = 0; i < cases.length; i++) {
            CliRun r = CliRun.of(cases[i]);
            assertEquals(2, r.exitCode(), String.join(" ", cases[i]) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(expected[i]), r.err());
            assertEquals(List.of(), filesIn(dir), String.join(" ", cases[i]));
        }
    }

    /** Reads the first bytes of a file. */
    private static final class Arrays4 {
        static byte[] head(Path file) throws Exception {
            try (var in = Files.newInputStream(file)) {
                return in.readNBytes(8);
            }
        }
    }

    @Test
    void theRoundTripComparisonFlagsValuesOutsideTheTolerance() {
        dev.slimnx.graph.tensor.Tensor a = dev.slimnx.graph.tensor.Tensor.ofFloats("y", new long[] {3}, 1f, 2f, 3f);
        dev.slimnx.graph.tensor.Tensor near = dev.slimnx.graph.tensor.Tensor.ofFloats("y", new long[] {3}, 1f, 2.00001f, 3f);
        dev.slimnx.graph.tensor.Tensor far = dev.slimnx.graph.tensor.Tensor.ofFloats("y", new long[] {3}, 1f, 2.1f, 3f);
        assertEquals(null, ExportCommand.compare("y", a, near));
        assertTrue(ExportCommand.compare("y", a, far).startsWith("y: 1 of 3 values outside the tolerance"));
        assertTrue(ExportCommand.compare("y", a, null).contains("missing"));
    }

    @Test
    void theOperatorConfigListsOpsPerDomainAndOpset() throws Exception {
        Model m = OnnxReader.read(erfModel());
        String config = ExportCommand.operatorConfig(m);
        assertEquals(List.of("ai.onnx;17;Erf,MatMul,Relu"), config.lines().filter(l -> !l.startsWith("#")).toList());
    }

    @Test
    void raisingPastAChangeSlimnxDoesNotKnowIsRefused() throws Exception {
        GraphBuilder b = new GraphBuilder(18);
        Value x = b.input("x", DataType.FLOAT, 1, 4, 2, 2);
        Value y = b.node("GroupNormalization", x, b.initializer(b.randomFloats("s", 2)),
                b.initializer(b.randomFloats("c", 2))).attr("num_groups", 2).value();
        b.output(y, DataType.FLOAT, 1, 4, 2, 2);
        Path file = dir.resolve("gn.onnx");
        OnnxWriter.write(b.build(), file);
        CliRun r = CliRun.of("export", file.toString(), "-o", dir.resolve("gn21.onnx").toString(), "--format", "onnx",
                "--target-opset", "21");
        assertEquals(2, r.exitCode(), r.out());
        assertTrue(r.err().contains("GroupNormalization (changed at opset 21)"), r.err());
        assertEquals(List.of("gn.onnx"), filesIn(dir));
    }

    @Test
    void fixingOneInputFixesTheInputsThatShareItsSymbol() throws Exception {
        Path out = dir.resolve("navit.ort");
        CliRun r = CliRun.of("export", reference("navit").toString(), "-o", out.toString(), "--fix-shape", "patches=16x49");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("patches [16, 49], pos_y [16], pos_x [16], image_ids [16]"), r.out());
        assertTrue(Files.size(out) > 0);
    }

    @Test
    void outputsThatDifferAfterTheRoundTripExitOneAndLeaveNothing() throws Exception {
        Path model = erfModel();
        picocli.CommandLine.IFactory nudging = new picocli.CommandLine.IFactory() {
            @Override
            public <K> K create(Class<K> cls) throws Exception {
                K made = picocli.CommandLine.defaultFactory().create(cls);
                if (made instanceof ExportCommand c) {
                    c.beforeWrite = m -> {
                        Value w = m.graph().initializer("w");
                        float[] v = w.initializer().toFloatArray();
                        v[0] += 0.5f;
                        m.graph().setInitializerData(w, dev.slimnx.graph.tensor.Tensor.ofFloats("w", w.initializer().dims(), v));
                        return m;
                    };
                }
                return made;
            }
        };
        CliRun r = CliRun.with(nudging, "export", model.toString(), "-o", dir.resolve("erf.ort").toString());
        assertEquals(1, r.exitCode(), r.out() + r.err());
        assertTrue(r.err().contains("the exported model's outputs differ from"), r.err());
        assertTrue(r.err().contains("values outside the tolerance"), r.err());
        assertEquals(List.of("erf.onnx"), filesIn(dir));
    }
}
