package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.stats.ModelStats;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code slimnx demo} end to end: the recipe is written beside the results, every stage's file
 * exists, the pruned model has the FFN 4 → 2 params, the INT8 model is smaller, the gate passed
 * (exit 0), and the phone file is an ORT flatbuffer.
 */
class DemoCommandTest {
    @TempDir
    Path dir;

    @Test
    void runsTheWholePipelineOnTheEmbeddedVit() throws Exception {
        Path out = dir.resolve("demo");
        CliRun r = CliRun.of("demo", "--out", out.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.out() + r.err());
        try (InputStream in = DemoCommand.class.getResourceAsStream(DemoCommand.RECIPE)) {
            assertArrayEquals(in.readAllBytes(), Files.readAllBytes(out.resolve("demo.yaml")));
        }
        // FFN 4 -> 2 on vit's six blocks: 6 x 128 units x (64 + 1 + 64) params fewer
        assertEquals(305_055 - 6 * 128 * 129, ModelStats.of(OnnxReader.read(out.resolve("02-prune.onnx"))).parameterCount());
        assertTrue(Files.size(out.resolve("03-quantize.onnx")) < Files.size(out.resolve("02-prune.onnx")) / 3);
        byte[] ort = Files.readAllBytes(out.resolve("05-export.ort"));
        assertEquals("ORTM", new String(ort, 4, 4, StandardCharsets.US_ASCII));
        assertTrue(r.out().contains("| 04-validate |"), r.out());
        assertTrue(r.out().contains("passed"), r.out());
        assertTrue(r.out().contains("04-validate.html"), r.out());
    }

    @Test
    void aFileWhereTheFolderShouldBeIsAOneLineError() throws Exception {
        Path file = Files.writeString(dir.resolve("taken"), "x");
        CliRun r = CliRun.of("demo", "--out", file.toString());
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertEquals("x", Files.readString(file));
    }
}
