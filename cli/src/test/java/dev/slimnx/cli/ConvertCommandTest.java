package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvertCommandTest {
    @TempDir
    Path dir;

    private Path model() throws Exception {
        GraphBuilder b = new GraphBuilder(17);
        var x = b.input("x", DataType.FLOAT, "batch", 64);
        var w = b.initializer(b.randomFloats("w", 64, 32));
        var bias = b.initializer(b.randomFloats("bias", 32));
        b.output(b.op("Add", b.op("MatMul", x, w), bias), DataType.FLOAT, "batch", 32);
        Path p = dir.resolve("model.onnx");
        OnnxWriter.write(b.build(), p);
        return p;
    }

    @Test
    void roundTripKeepsTheWeights() throws Exception {
        Path in = model();
        Path out = dir.resolve("out.onnx");
        CliRun r = CliRun.of("convert", in.toString(), "-o", out.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("wrote " + out.toAbsolutePath()), r.out());
        Model a = OnnxReader.read(in);
        Model b = OnnxReader.read(out);
        assertArrayEquals(a.graph().initializer("w").initializer().toFloatArray(),
                b.graph().initializer("w").initializer().toFloatArray());
    }

    @Test
    void externalDataGoesOutAndComesBack() throws Exception {
        Path in = model();
        Path ext = dir.resolve("ext.onnx");
        CliRun r = CliRun.of("convert", in.toString(), "-o", ext.toString(), "--external-data", "--size-threshold", "200");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.exists(dir.resolve("ext.onnx.data")));
        Model m = OnnxReader.read(ext);
        assertTrue(m.graph().initializer("w").initializer().isExternal(), "64x32 floats = 8 KiB go external");
        assertFalse(m.graph().initializer("bias").initializer().isExternal(), "32 floats = 128 B stay inline");

        Path back = dir.resolve("back.onnx");
        assertEquals(0, CliRun.of("convert", ext.toString(), "-o", back.toString(), "--no-external-data").exitCode());
        Model inline = OnnxReader.read(back);
        assertFalse(inline.graph().initializer("w").initializer().isExternal());
        assertArrayEquals(OnnxReader.read(in).graph().initializer("w").initializer().toFloatArray(),
                inline.graph().initializer("w").initializer().toFloatArray());
    }

    @Test
    void refusesToOverwriteTheInputWithoutForce() throws Exception {
        Path in = model();
        byte[] before = Files.readAllBytes(in);
        CliRun r = CliRun.of("convert", in.toString(), "-o", in.toString());
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("is the input model"), r.err());
        assertArrayEquals(before, Files.readAllBytes(in));
        assertEquals(0, CliRun.of("convert", in.toString(), "-o", in.toString(), "--force").exitCode());
    }

    @Test
    void malformedInputIsOneLineExitTwoAndNothingWritten() throws Exception {
        Path in = model();
        byte[] bytes = Files.readAllBytes(in);
        Path broken = dir.resolve("broken.onnx");
        Files.write(broken, Arrays.copyOf(bytes, bytes.length / 2));
        Path out = dir.resolve("never.onnx");
        CliRun r = CliRun.of("convert", broken.toString(), "-o", out.toString());
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(broken.toString()), r.err());
        assertFalse(r.err().contains("Exception"), r.err());
        assertFalse(Files.exists(out));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().endsWith(".tmp")).count(), "no temp files left");
        }
    }

    @Test
    void missingFileAndBadOptionsExitTwo() {
        CliRun missing = CliRun.of("convert", dir.resolve("nope.onnx").toString(), "-o", dir.resolve("o.onnx").toString());
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().contains("nope.onnx: no such file"), missing.err());
        assertEquals(2, CliRun.of("convert").exitCode());
        CliRun threshold = CliRun.of("convert", "a.onnx", "-o", "b.onnx", "--size-threshold", "10");
        assertEquals(2, threshold.exitCode());
        assertTrue(threshold.err().contains("--size-threshold only applies with --external-data"), threshold.err());
    }
}
