package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.Value;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.graph.tensor.DataType;
import dev.slimnx.reference.ReferenceModels;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizeCommandTest {
    @TempDir
    Path dir;

    /** A two-layer MLP with 64x64 weights: big enough that INT8 shrinks the file. */
    private Path mlp() throws Exception {
        GraphBuilder b = new GraphBuilder(17, 11);
        Value x = b.input("x", DataType.FLOAT, "batch", 64);
        Value h = b.op("Relu", b.op("Add", b.op("MatMul", x, b.initializer(b.randomFloats("w1", 64, 64))),
                b.initializer(b.randomFloats("b1", 64))));
        b.output(b.op("MatMul", h, b.initializer(b.randomFloats("w2", 64, 10))), DataType.FLOAT, "batch", 10)
                .setName("logits");
        Path p = dir.resolve("mlp.onnx");
        OnnxWriter.write(b.build(), p);
        return p;
    }

    private static Path vit() throws Exception {
        return ReferenceModels.locate().get("vit").file();
    }

    @Test
    void dynamicQuantizesTheMatMulsAndShrinksTheFile() throws Exception {
        Path in = mlp();
        Path out = dir.resolve("q.onnx");
        CliRun r = CliRun.of("quantize", in.toString(), "-o", out.toString(), "--mode", "dynamic", "--no-latency-probe");
        assertEquals(0, r.exitCode(), r.err());
        Model q = OnnxReader.read(out);
        assertEquals(2, ModelStats.of(q).opHistogram().getOrDefault("com.microsoft:DynamicQuantizeMatMul", 0), r.out());
        assertTrue(Files.size(out) < 0.5 * Files.size(in), "int8 weights: " + Files.size(out) + " vs " + Files.size(in));
        assertTrue(r.out().contains("size "), r.out());
    }

    @Test
    void theOutputIsCompactedUnlessAskedNotTo() throws Exception {
        Path in = mlp();
        Path compact = dir.resolve("compact.onnx");
        Path asIs = dir.resolve("as-is.onnx");
        assertEquals(0, CliRun.of("quantize", in.toString(), "-o", compact.toString(), "--mode", "dynamic",
                "--no-latency-probe").exitCode());
        assertEquals(0, CliRun.of("quantize", in.toString(), "-o", asIs.toString(), "--mode", "dynamic",
                "--no-latency-probe", "--no-compact").exitCode());
        Model c = OnnxReader.read(compact);
        Model a = OnnxReader.read(asIs);
        assertTrue(c.graph().nodes().stream().allMatch(n -> n.outputs().stream()
                .allMatch(v -> v.isGraphOutput() || v.name().matches("[0-9a-z]+"))), "short value names");
        assertTrue(a.graph().nodes().stream().anyMatch(n -> n.outputs().stream()
                .anyMatch(v -> !v.isGraphOutput() && !v.name().matches("[0-9a-z]+"))), "names as they came");
        assertEquals(java.util.List.of("logits"), c.graph().outputs().stream().map(Value::name).toList());
        assertTrue(Files.size(compact) < Files.size(asIs), Files.size(compact) + " vs " + Files.size(asIs));
    }

    @Test
    void aQuantizedModelIsRefusedWithOneLine() throws Exception {
        Path in = mlp();
        Path once = dir.resolve("q.onnx");
        assertEquals(0, CliRun.of("quantize", in.toString(), "-o", once.toString(), "--mode", "int4",
                "--no-latency-probe").exitCode());
        Path twice = dir.resolve("qq.onnx");
        CliRun r = CliRun.of("quantize", once.toString(), "-o", twice.toString(), "--mode", "dynamic");
        assertEquals(2, r.exitCode(), r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("already quantized"), r.err());
        assertFalse(Files.exists(twice));
    }

    @Test
    void staticNeedsCalibrationDataUnlessTheModelIsAReferenceModel() throws Exception {
        Path in = mlp();
        CliRun r = CliRun.of("quantize", in.toString(), "-o", dir.resolve("q.onnx").toString(), "--mode", "static");
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("--mode static needs --calib DATA"), r.err());
    }

    @Test
    void staticOnAReferenceModelCalibratesOnItsOwnSubsetAndMeetsTheBudget() throws Exception {
        Path out = dir.resolve("vit-int8.onnx");
        CliRun r = CliRun.of("quantize", vit().toString(), "-o", out.toString(), "--mode", "static",
                "--calib-size", "128", "--max-drop", "0.5", "--limit", "500", "--no-latency-probe");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().matches("(?s).*top-1: float 0\\.\\d{4}, quantized 0\\.\\d{4} \\(drop -?\\d\\.\\d\\d points,"
                + " budget 0\\.50\\).*"), r.out());
        assertTrue(Files.size(out) < 0.35 * Files.size(vit()), "size " + Files.size(out));
    }

    @Test
    void sensitivityIsRankedMostSensitiveFirst() throws Exception {
        CliRun r = CliRun.of("quantize", vit().toString(), "--mode", "dynamic", "--report-sensitivity", "--limit", "100");
        assertEquals(0, r.exitCode(), r.err());
        String[] rows = r.out().lines().filter(l -> l.contains(" dB")).toArray(String[]::new);
        assertTrue(rows.length >= 24, "every MatMul/Gemm with a weight is ranked: " + r.out());
        double previous = Double.NEGATIVE_INFINITY;
        for (String row : rows) {
            double db = Double.parseDouble(row.replaceAll(".*?\\s(-?[0-9.]+|Infinity) dB.*", "$1"));
            assertTrue(db >= previous, "ascending SQNR: " + r.out());
            previous = db;
        }
    }

    @Test
    void badOptionsAreOneLineErrorsAndTheInputIsNeverTouched() throws Exception {
        Path in = mlp();
        byte[] before = Files.readAllBytes(in);
        Path out = dir.resolve("q.onnx");
        CliRun mode = CliRun.of("quantize", in.toString(), "-o", out.toString(), "--mode", "int3");
        assertEquals(2, mode.exitCode());
        assertEquals("slimnx quantize: --mode must be static, dynamic, fp16 or int4, got 'int3'", mode.err().strip());
        CliRun block = CliRun.of("quantize", in.toString(), "-o", out.toString(), "--mode", "int4", "--block-size", "48");
        assertEquals(2, block.exitCode());
        assertTrue(block.err().contains("48"), block.err());
        CliRun calib = CliRun.of("quantize", in.toString(), "-o", out.toString(), "--mode", "dynamic", "--calib", "x");
        assertEquals(2, calib.exitCode());
        assertFalse(Files.exists(out));
        assertArrayEquals(before, Files.readAllBytes(in));
    }
}
