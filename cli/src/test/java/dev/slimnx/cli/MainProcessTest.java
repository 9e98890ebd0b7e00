package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.reference.ReferenceModels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executable as a user runs it: a separate JVM through {@link Main}, so what reaches stdout
 * and stderr before {@code System.exit}, and the exit code, are what a shell sees.
 */
class MainProcessTest {
    @TempDir
    Path dir;

    record Run(int code, String out, String err) {
    }

    private Run slimnx(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "slimnx did not finish");
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void validatePrintsItsReportWithoutAReportFile() throws Exception {
        String vit = ReferenceModels.locate().get("vit").file().toString();
        Run r = slimnx("validate", vit, vit, "--no-latency", "--limit", "200", "--gate", "agreement >= 1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("# slimnx validation: PASSED"), r.out());
        assertTrue(r.out().contains("✅ agreement >= 1: passed"), r.out());
    }

    @Test
    void badInputIsOneLineOnStderrAndExitCodeTwo() throws Exception {
        Path junk = dir.resolve("junk.onnx");
        Files.write(junk, new byte[] {0x0a, 0x7f, 0x01});
        Run r = slimnx("inspect", junk.toString());
        assertEquals(2, r.code());
        assertEquals("", r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("slimnx inspect: " + junk + ": "), r.err());
        assertFalse(r.err().contains("at dev.slimnx"), "no stack trace");
    }

    @Test
    void aFailedGateIsExitCodeOne() throws Exception {
        String vit = ReferenceModels.locate().get("vit").file().toString();
        Run r = slimnx("validate", vit, vit, "--no-latency", "--limit", "100", "--gate", "top1_drop < 0");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.out().contains("❌ top1_drop < 0: FAILED"), r.out());
    }
}
