package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.slimnx.graph.build.GraphBuilder;
import dev.slimnx.graph.io.OnnxWriter;
import dev.slimnx.graph.tensor.DataType;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    @TempDir
    Path dir;

    /** x[batch, 64] · W[64, 32] + b[32], then a 1×1 conv-free Relu: params 2080, MACs 2048 per sample. */
    private Path model() throws Exception {
        GraphBuilder b = new GraphBuilder(17);
        var x = b.input("x", DataType.FLOAT, "batch", 64);
        var w = b.initializer(b.randomFloats("w", 64, 32));
        var bias = b.initializer(b.randomFloats("bias", 32));
        b.output(b.op("Relu", b.op("Add", b.op("MatMul", x, w), bias)), DataType.FLOAT, "batch", 32);
        Path p = dir.resolve("m.onnx");
        OnnxWriter.write(b.build(), p);
        return p;
    }

    @Test
    void jsonHasTheDocumentedFacts() throws Exception {
        Path m = model();
        CliRun r = CliRun.of("inspect", m.toString(), "--json");
        assertEquals(0, r.exitCode(), r.err());
        JsonNode j = new ObjectMapper().readTree(r.out());
        assertEquals("slimnx.inspect/1", j.path("schema").asText());
        assertEquals(Files.size(m), j.path("file_bytes").asLong());
        assertEquals("ai.onnx", j.path("opsets").get(0).path("domain").asText());
        assertEquals(17, j.path("opsets").get(0).path("version").asInt());
        assertEquals("x", j.path("inputs").get(0).path("name").asText());
        assertEquals("float32", j.path("inputs").get(0).path("dtype").asText());
        assertEquals("[\"batch\",64]", j.path("inputs").get(0).path("shape").toString());
        assertEquals(3, j.path("nodes").asInt());
        assertEquals(1, j.path("ops").path("MatMul").asInt());
        assertEquals(64 * 32 + 32, j.path("params").path("total").asLong());
        assertEquals(64 * 32, j.path("macs").path("total").asLong());
        assertEquals(1, j.path("macs").path("assumed_dims").path("batch").asInt());
        assertEquals((64 * 32 + 32) * 4, j.path("initializer_bytes").path("total").asLong());
        assertEquals("w", j.path("largest_tensors").get(0).path("name").asText());
        assertEquals(64 * 32 * 4, j.path("largest_tensors").get(0).path("bytes").asLong());
    }

    @Test
    void textNamesTheSameFacts() throws Exception {
        CliRun r = CliRun.of("inspect", model().toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("params: 2,080"), r.out());
        assertTrue(r.out().contains("MACs: 2048 per sample (batch = 1)"), r.out());
        assertTrue(r.out().contains("x                        float32  [batch,64]"), r.out());
    }

    @Test
    void badInputIsOneLineAndExitTwo() throws Exception {
        Path junk = dir.resolve("junk.onnx");
        Files.write(junk, new byte[] {(byte) 0xff, 0x13, 0x37});
        CliRun r = CliRun.of("inspect", junk.toString());
        assertEquals(2, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("slimnx inspect: " + junk), r.err());
    }
}
