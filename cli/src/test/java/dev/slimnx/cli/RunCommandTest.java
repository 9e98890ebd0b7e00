package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimnx.graph.io.OnnxReader;
import dev.slimnx.graph.stats.ModelStats;
import dev.slimnx.validate.report.Reports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {
    @TempDir
    Path dir;

    private Path recipe(String name, String yaml) throws Exception {
        Path file = dir.resolve(name + ".yaml");
        Files.writeString(file, yaml);
        return file;
    }

    @Test
    void runsOptimizePruneAndValidateAndExitsOneWhenAGateFails() throws Exception {
        Path file = recipe("short", """
                model: {reference: vit}
                seed: 3
                steps:
                  - optimize
                  - prune: {ffn-ratio: 2, importance: taylor, calib-size: 64}
                  - validate: {limit: 128, no-latency: true, gates: ["top1_drop <= 100", "params_ratio <= 0.9"]}
                  - validate: {limit: 128, no-latency: true, gates: ["params_ratio <= 0.1"]}
                """);
        CliRun r = CliRun.of("run", file.toString());
        assertEquals(ExitCode.GATE_FAILED, r.exitCode(), r.err());
        Path out = dir.resolve("short.out");
        for (String f : new String[] {"01-optimize.onnx", "02-prune.onnx", "02-prune.json", "03-validate.json",
                "03-validate.md", "03-validate.html", "03-validate.xml", "04-validate.json", "04-validate.xml",
                "summary.md", "summary.json"}) {
            assertTrue(Files.isRegularFile(out.resolve(f)), f + " was not written: " + r.out());
        }
        assertTrue(r.out().contains("[2/4] prune: 02-prune.onnx: params "), r.out());
        assertTrue(r.out().contains("[3/4] validate: top-1 "), r.out());
        assertTrue(r.out().contains("[4/4] validate: top-1 ") && r.out().contains("gate failed: [params_ratio <= 0.1]"),
                r.out());

        long params = ModelStats.of(OnnxReader.read(out.resolve("02-prune.onnx"))).parameterCount();
        JsonNode summary = Reports.json().readTree(out.resolve("summary.json").toFile());
        assertEquals(RunCommand.SCHEMA, summary.get("schema").asText());
        assertEquals(1, summary.get("exit_code").asInt());
        JsonNode steps = summary.get("steps");
        assertEquals(5, steps.size()); // the input, then the four steps
        assertEquals(params, steps.get(2).get("params").asLong());
        assertTrue(steps.get(2).get("params").asLong() < steps.get(1).get("params").asLong());
        assertTrue(steps.get(3).get("top1").asDouble() > 0.5, summary.toString());
        assertEquals(0, steps.get(3).get("gates_failed").size());
        assertEquals("params_ratio <= 0.1", steps.get(4).get("gates_failed").get(0).asText());
        JsonNode prune = Reports.json().readTree(out.resolve("02-prune.json").toFile());
        // Taylor on 01-optimize.onnx, not a reference model: the recipe's model brought the calibration data
        assertEquals("taylor", prune.get("importance").asText());
        assertTrue(Files.readString(out.resolve("summary.md")).contains("| 04-validate | 02-prune.onnx |"));
    }

    @Test
    void theSameRecipeAndSeedWriteTheSameBytes() throws Exception {
        String steps = """
                steps:
                  - optimize: {passes: [fold-constants, dead-code]}
                  - prune: {ffn-ratio: 2, importance: random, round-to: 4}
                """;
        Path file = recipe("det", "model: {reference: vit}\nseed: 11\n" + steps);
        Path other = recipe("det2", "model: {reference: vit}\nseed: 12\n" + steps);
        assertEquals(0, CliRun.of("run", file.toString(), "--out", dir.resolve("a").toString()).exitCode());
        assertEquals(0, CliRun.of("run", file.toString(), "--out", dir.resolve("b").toString()).exitCode());
        assertEquals(0, CliRun.of("run", other.toString(), "--out", dir.resolve("c").toString()).exitCode());
        for (String f : new String[] {"01-optimize.onnx", "02-prune.onnx"}) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a").resolve(f)), Files.readAllBytes(dir.resolve("b").resolve(f)),
                    f + " differs between two runs of one recipe");
        }
        // the seed reaches the step: random importance keeps other channels under another seed
        assertFalse(Arrays.equals(Files.readAllBytes(dir.resolve("a").resolve("02-prune.onnx")),
                Files.readAllBytes(dir.resolve("c").resolve("02-prune.onnx"))));
    }

    @Test
    void refusesABadRecipeWithOneLineBeforeAnyWork() throws Exception {
        String[][] cases = {
                {"steps:\n  - shrink\n", "steps[0]: unknown step 'shrink'"},
                {"steps:\n  - optimize\n  - prune: {ffn-ratio: -1}\n", "steps[1].prune.ffn-ratio: must be a positive number"},
                {"steps:\n  - prune: {ffn-ratoi: 2}\n", "steps[0].prune.ffn-ratoi: unknown key; the prune step takes "},
                {"steps:\n  - prune: {qk-dim: abc}\n", "steps[0].prune.qk-dim: "},
                {"steps:\n  - prune: {ffn-ratio: 2, calib: nothing.npz}\n", "steps[0].prune.calib: "},
                {"steps:\n  - prune: {ffn-ratio: 2, output: x.onnx}\n", "steps[0].prune.output: set by the recipe runner"},
                {"steps:\n  - optimize: {passes: [fold-batchnorm, no-such-pass]}\n", "steps[0].optimize"},
                {"steps:\n  - optimize: {passes: [fold-constants], options: {fold-constants: {bogus: 1}}}\n",
                        "steps[0].optimize"},
                {"steps:\n  - optimize\n  - validate: {gates: [\"top1_drop <== 1\"]}\n", "steps[1].validate"},
                {"steps:\n  - quantize: {calib-size: 10}\n", "steps[0].quantize: "},
                {"steps:\n  - optimize\n  - prune: {reallocate: yes please}\n", "steps[1].prune.reallocate: must be true or false"},
                {"steps:\n  - validate: {layout: abc}\n", "steps[0].validate.layout: must be nchw or nhwc"},
                {"flavour: mild\nsteps:\n  - optimize\n", "flavour: unknown key"},
        };
        for (int i = 0; i < cases.length; i++) {
            Path file = recipe("bad" + i, "model: {reference: vit}\n" + cases[i][0]);
            CliRun r = CliRun.of("run", file.toString());
            assertEquals(ExitCode.BAD_INPUT, r.exitCode(), cases[i][0] + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(file + ": " + cases[i][1]), cases[i][0] + " -> " + r.err());
            assertFalse(Files.exists(dir.resolve("bad" + i + ".out")), "an output folder was created for " + cases[i][0]);
        }
        CliRun r = CliRun.of("run", recipe("nomodel", "model: missing.onnx\nsteps: [optimize]\n").toString());
        assertEquals(ExitCode.BAD_INPUT, r.exitCode());
        assertTrue(r.err().contains("nomodel.yaml: model: " + dir.resolve("missing.onnx") + ": no such file"), r.err());
    }

    @Test
    void anExportStepWritesTheOrtFileItsOperatorConfigAndItsMobileCheck() throws Exception {
        // no format: a recipe's export writes the ORT format unless told onnx
        Path file = recipe("phone", "model: {reference: vit}\nsteps:\n  - optimize\n"
                + "  - export: {fix-shape: [input=1x1x28x28], check-mobile: nnapi}\n");
        CliRun r = CliRun.of("run", file.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        Path out = dir.resolve("phone.out");
        byte[] ort = Files.readAllBytes(out.resolve("02-export.ort"));
        // an ORT flatbuffer carries the file identifier "ORTM" at bytes 4..8
        assertEquals("ORTM", new String(ort, 4, 4, java.nio.charset.StandardCharsets.US_ASCII));
        assertTrue(Files.readString(out.resolve("required_operators.config")).contains("ai.onnx;"));
        assertTrue(Files.readString(out.resolve("summary.md")).contains("02-export.ort"));
        JsonNode check = Reports.json().readTree(Files.readString(out.resolve("02-export.json")));
        assertEquals(ExportCommand.SCHEMA, check.get("schema").asText());
        assertEquals("[1,1,28,28]", check.get("fixed_shapes").get("input").toString());
        assertEquals("nnapi", check.get("check_mobile").get(0).get("ep").asText());
        JsonNode steps = Reports.json().readTree(Files.readString(out.resolve("summary.json"))).get("steps");
        JsonNode export = steps.get(steps.size() - 1);
        assertEquals("02-export", export.get("step").asText());
        List<String> reports = new java.util.ArrayList<>();
        export.get("reports").forEach(n -> reports.add(n.asText()));
        assertEquals(List.of("02-export.json", "required_operators.config"), reports);
    }
}
