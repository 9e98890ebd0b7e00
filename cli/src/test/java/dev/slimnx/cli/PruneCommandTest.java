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

class PruneCommandTest {
    @TempDir
    Path dir;

    private static Path reference(String name) throws Exception {
        return ReferenceModels.locate().get(name).file();
    }

    @Test
    void prunesFfnQkAndHeadsAndWritesTheReport() throws Exception {
        Path out = dir.resolve("vit-pruned.onnx");
        Path report = dir.resolve("prune.json");
        CliRun r = CliRun.of("prune", reference("vit").toString(), "-o", out.toString(), "--ffn-ratio", "2", "--qk-dim",
                "8", "--heads", "2", "--importance", "magnitude", "--report", report.toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("prune-ffn (magnitude-l1): 6 layer(s) pruned"), r.out());
        assertTrue(r.out().contains("256 -> 128 (input 64)"), r.out());
        assertTrue(r.out().contains("prune-qk (magnitude-l1): 6 layer(s) pruned"), r.out());
        assertTrue(r.out().contains("16 -> 8 (input 4)"), r.out());
        assertTrue(r.out().contains("prune-heads (magnitude-l1): 6 layer(s) pruned"), r.out());
        assertTrue(r.out().contains("4 -> 2 (input 8)"), r.out()); // heads, after the Q/K dims shrank to 8
        assertTrue(r.out().contains("params 305,055 -> "), r.out());

        long params = ModelStats.of(OnnxReader.read(out)).parameterCount();
        JsonNode json = Reports.json().readTree(Files.readString(report));
        assertEquals(PruneCommand.SCHEMA, json.get("schema").asText());
        assertEquals(params, json.get("parameters_after").asLong());
        assertEquals(3, json.get("passes").size());
        JsonNode qk = json.get("passes").get(1);
        assertEquals("prune-qk", qk.get("pass").asText());
        assertEquals(8, qk.get("pruned").get(0).get("width_after").asInt());
        assertEquals(8, qk.get("pruned").get(0).get("kept").size());
        assertEquals(1.0, qk.get("pruned").get(0).get("scores").get("max").asDouble(), 1e-12);
    }

    @Test
    void taylorUsesTheReferenceCalibrationSetByDefault() throws Exception {
        Path out = dir.resolve("vit-taylor.onnx");
        CliRun r = CliRun.of("prune", reference("vit").toString(), "-o", out.toString(), "--qk-dim", "8",
                "--calib-size", "16", "--calib-batch", "5");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("prune-qk (taylor): 6 layer(s) pruned"), r.out());
        assertTrue(Files.exists(out));
    }

    @Test
    void prunesConvChannelsAndReportsWhatIsLeftAlone() throws Exception {
        Path out = dir.resolve("evit.onnx");
        CliRun r = CliRun.of("prune", reference("efficientvit").toString(), "-o", out.toString(), "--channels", "0.5",
                "--importance", "random", "--seed", "3");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("prune-channels (random): 10 layer(s) pruned"), r.out());
        assertTrue(r.out().contains("refused "), r.out());
        assertTrue(ModelStats.of(OnnxReader.read(out)).parameterCount() < 134_466);
    }

    @Test
    void separableAttentionIsRefusedAndNothingIsWritten() throws Exception {
        Path out = dir.resolve("v2.onnx");
        Path report = dir.resolve("v2.json");
        CliRun r = CliRun.of("prune", reference("mobilevitv2").toString(), "-o", out.toString(), "--ffn-ratio", "1",
                "--qk-dim", "4", "--importance", "magnitude", "--report", report.toString());
        assertEquals(2, r.exitCode(), r.out());
        assertTrue(r.err().contains("MobileViTv2"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(out));
        assertFalse(Files.exists(report));
        try (var files = Files.list(dir)) {
            assertEquals(0, files.count(), "no temporary files left");
        }
    }

    @Test
    void aRecoveryFineTuneDistilsFromTheModelBeforePruning() throws Exception {
        Path out = dir.resolve("vit-recovered.onnx");
        CliRun r = CliRun.of("prune", reference("vit").toString(), "-o", out.toString(), "--ffn-ratio", "1",
                "--importance", "random", "--finetune-steps", "12", "--batch", "32", "--limit", "384");
        assertEquals(0, r.exitCode(), r.err() + r.out());
        assertTrue(r.out().contains("fine-tuned vit-recovered.onnx: 12 steps of 32 (1.00 epochs)"), r.out());
        assertTrue(r.out().contains("0.5·cross-entropy + 0.5·KL(T=2)"), r.out());
        Matcher m = Pattern.compile("loss ([0-9.]+) \\(first 10% of steps\\) -> ([0-9.]+) \\(last 10%\\)").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(Double.parseDouble(m.group(2)) < Double.parseDouble(m.group(1)), r.out());
        Matcher top1 = Pattern.compile("top-1 on the reference test set \\(10000 items\\): original ([0-9.]+), pruned"
                + " ([0-9.]+), fine-tuned ([0-9.]+)").matcher(r.out());
        assertTrue(top1.find(), r.out());
        assertEquals(0.8721, Double.parseDouble(top1.group(1)), 1e-4, "the teacher is the original's function");
        assertTrue(Double.parseDouble(top1.group(3)) > Double.parseDouble(top1.group(2)) + 0.02,
                "the fine-tune recovers part of what random pruning lost: " + r.out());
        // the written model is the fine-tuned one, at the pruned size, and it runs
        long params = ModelStats.of(OnnxReader.read(out)).parameterCount();
        assertTrue(r.out().contains(String.format(java.util.Locale.ROOT, "-> %,d (", params)), r.out());
        assertEquals(Double.parseDouble(top1.group(3)), top1(out), 1e-9);
    }

    /** Top-1 of a ViT-shaped model file on the reference test set. */
    private static double top1(Path file) throws Exception {
        ReferenceModels registry = ReferenceModels.locate();
        var model = OnnxReader.read(file);
        QuantEvaluation eval = Recovery.referenceTestSet(registry, java.util.Optional.of(registry.get("vit")), model,
                model.graph().outputs().getFirst().name(), 0);
        return eval.top1(model);
    }

    @Test
    void badUsageIsAOneLineErrorWithExitTwo() throws Exception {
        String vit = reference("vit").toString();
        String out = dir.resolve("x.onnx").toString();
        for (String[] args : new String[][] {
            {"prune", vit, "-o", out},
            {"prune", vit, "-o", out, "--qk-dim", "0"},
            {"prune", vit, "-o", out, "--channels", "1.5"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--calib-batch", "0"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--importance", "fisher"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--report", dir.resolve("r.txt").toString()},
            {"prune", reference("detr").toString(), "-o", out, "--ffn-ratio", "1"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--finetune-steps", "0"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--data", vit},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--lr", "0.1"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--finetune-steps", "2", "--lr", "-1"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--finetune-steps", "2", "--batch", "0"},
            {"prune", vit, "-o", out, "--ffn-ratio", "2", "--finetune-steps", "2",
                "--data", dir.resolve("absent.npz").toString()},
            {"prune", reference("detr").toString(), "-o", out, "--ffn-ratio", "1", "--importance", "magnitude",
                "--finetune-steps", "2"},
        }) {
            CliRun r = CliRun.of(args);
            assertEquals(2, r.exitCode(), String.join(" ", args) + "\n" + r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertFalse(Files.exists(Path.of(out)));
        }
    }

    @Test
    void derivedFromAReferenceModelKeepsItsCalibrationSubset() throws Exception {
        Path optimized = dir.resolve("vit-opt.onnx");
        assertEquals(0, CliRun.of("optimize", reference("vit").toString(), "-o", optimized.toString()).exitCode());
        Path out = dir.resolve("vit-pruned.onnx");
        CliRun refused = CliRun.of("prune", optimized.toString(), "-o", out.toString(), "--ffn-ratio", "2",
                "--calib-size", "32");
        assertEquals(ExitCode.BAD_INPUT, refused.exitCode());
        assertTrue(refused.err().contains("--importance taylor needs --calib DATA"), refused.err());
        CliRun r = CliRun.of("prune", optimized.toString(), "-o", out.toString(), "--ffn-ratio", "2",
                "--calib-size", "32", "--derived-from", reference("vit").toString());
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.out().contains("prune-ffn (taylor"), r.out());
    }
}
