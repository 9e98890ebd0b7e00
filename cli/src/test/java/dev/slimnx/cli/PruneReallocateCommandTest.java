package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.validate.report.Reports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code slimnx prune --target-params/--target-macs [--reallocate]}: the width table, the target, the errors. */
class PruneReallocateCommandTest {
    @TempDir
    Path dir;

    private static Path reference(String name) throws Exception {
        return ReferenceModels.locate().get(name).file();
    }

    @Test
    void reallocatesToHalfTheParamsAndPrintsTheWidthTable() throws Exception {
        Path out = dir.resolve("vit-half.onnx");
        Path report = dir.resolve("half.json");
        CliRun r = CliRun.of("prune", reference("vit").toString(), "-o", out.toString(), "--target-params", "0.5",
                "--reallocate", "--calib-size", "32", "--report", report.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("prune-reallocate (taylor): "), r.out());
        assertTrue(r.out().contains("ffn /blocks.0/mlp/fc1/MatMul"), r.out());
        assertTrue(r.out().contains("256 -> "), r.out());
        long params = ModelStats.of(OnnxReader.read(out)).parameterCount();
        assertTrue(params <= 305_055 / 2, "params " + params);
        JsonNode json = Reports.json().readTree(Files.readString(report));
        assertEquals(params, json.get("parameters_after").asLong());
        assertEquals("prune-reallocate", json.get("passes").get(0).get("pass").asText());
    }

    @Test
    void aMacTargetWithoutReallocatePrunesEveryGroupAlike() throws Exception {
        Path out = dir.resolve("vit-macs.onnx");
        CliRun r = CliRun.of("prune", reference("vit").toString(), "-o", out.toString(), "--target-macs", "0.7",
                "--importance", "magnitude");
        assertEquals(0, r.exitCode(), r.err());
        long macs = ModelStats.of(OnnxReader.read(out)).totalMacs();
        assertTrue(macs <= 0.7 * 5_286_272, "MACs " + macs);
        // uniform pruning: every FFN and Q/K group keeps the same fraction, within one rounding step
        Matcher w = Pattern.compile("(ffn|q/k) \\S+ +(\\d+) -> (\\d+)").matcher(r.out());
        double lo = 1;
        double hi = 0;
        int groups = 0;
        while (w.find()) {
            double kept = Double.parseDouble(w.group(3)) / Double.parseDouble(w.group(2));
            lo = Math.min(lo, kept);
            hi = Math.max(hi, kept);
            groups++;
        }
        assertEquals(12, groups, r.out());
        assertTrue(hi - lo <= 8 / 256.0 + 1 / 16.0, lo + " .. " + hi + "\n" + r.out());
        assertTrue(hi < 1, r.out());
    }

    @Test
    void badTargetsAreOneLineErrorsWithExitTwo() throws Exception {
        String vit = reference("vit").toString();
        String out = dir.resolve("x.onnx").toString();
        for (String[] args : new String[][] {
            {"prune", vit, "-o", out, "--target-params", "0"},
            {"prune", vit, "-o", out, "--target-params", "1.5"},
            {"prune", vit, "-o", out, "--target-params", "0.5", "--target-macs", "0.5"},
            {"prune", vit, "-o", out, "--target-params", "0.5", "--ffn-ratio", "2"},
            {"prune", vit, "-o", out, "--reallocate"},
            {"prune", vit, "-o", out, "--target-params", "0.5", "--min-width", "0"},
            {"prune", vit, "-o", out, "--target-params", "0.5", "--score-normalization", "l2"},
            {"prune", vit, "-o", out, "--target-params", "0.02", "--reallocate", "--importance", "magnitude"},
        }) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + "\n" + r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(Files.exists(Path.of(out)));
        }
    }
}
