package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.slimnx.reference.ReferenceModels;
import dev.slimnx.validate.report.Reports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keeps docs/reports.md honest: runs the commands that write the prune report, the export
 * {@code --check-mobile} report and a recipe's summary.json on the embedded {@code vit}, and
 * checks that every key path of each JSON (arrays as {@code []}, e.g.
 * {@code passes[].pruned[].name}) is a row of its schema's section.
 *
 * <p>A row documents the paths written in backticks in its first cell. A segment in capitals
 * ({@code check_mobile[].caveats_not_checked.OP}) stands for any key: an object keyed by data.
 */
class ReportSchemaDocsTest {
    private static final Pattern BACKTICKED = Pattern.compile("`([^`]+)`");

    @TempDir
    Path dir;

    private static Path vit() throws Exception {
        return ReferenceModels.locate().get("vit").file();
    }

    @Test
    void everyFieldOfThePruneReportIsDocumented() throws Exception {
        Path report = dir.resolve("prune.json");
        CliRun r = CliRun.of("prune", vit().toString(), "-o", dir.resolve("pruned.onnx").toString(), "--ffn-ratio", "2",
                "--importance", "magnitude", "--report", report.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertDocumented(PruneCommand.SCHEMA, report);
    }

    @Test
    void everyFieldOfTheExportCheckMobileReportIsDocumented() throws Exception {
        Path report = dir.resolve("mobile.json");
        // NOTE: with a fixed input shape NNAPI takes nodes, so caveats_not_checked has entries
        CliRun r = CliRun.of("export", vit().toString(), "--fix-shape", "input=1x1x28x28", "--check-mobile", "nnapi,coreml",
                "--report", report.toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertDocumented(ExportCommand.SCHEMA, report);
    }

    @Test
    void everyFieldOfTheRecipeSummaryIsDocumented() throws Exception {
        Path recipe = dir.resolve("tiny.yaml");
        // NOTE: a few latency runs cost milliseconds on vit and give the steps[].latency[] fields
        Files.writeString(recipe, """
                model: {reference: vit}
                steps:
                  - optimize
                  - validate: {limit: 32, warmup: 1, iterations: 3, gates: ["top1_drop <= 100"]}
                """);
        CliRun r = CliRun.of("run", recipe.toString(), "--out", dir.resolve("out").toString());
        assertEquals(ExitCode.OK, r.exitCode(), r.err());
        assertDocumented(RunCommand.SCHEMA, dir.resolve("out/summary.json"));
    }

    @Test
    void anUndocumentedFieldIsNamed() throws Exception {
        Path json = dir.resolve("extra.json");
        Files.writeString(json, "{\"schema\": \"x\", \"model\": \"m\", \"passes\": [{\"no_such_field\": 1}]}");
        AssertionError e = assertThrows(AssertionError.class,
                () -> assertDocumented(PruneCommand.SCHEMA, json));
        assertTrue(e.getMessage().contains("passes[].no_such_field"), e.getMessage());
    }

    /** Fails naming every key path of {@code json} that the schema's section of docs/reports.md lacks. */
    private static void assertDocumented(String schema, Path json) throws Exception {
        JsonNode root = Reports.json().readTree(json.toFile());
        Set<String> paths = new TreeSet<>();
        collect(root, "", paths);
        List<Pattern> documented = documentedPaths(schema);
        List<String> missing = paths.stream()
                .filter(p -> documented.stream().noneMatch(d -> d.matcher(p).matches())).toList();
        assertTrue(missing.isEmpty(), "docs/reports.md, section " + schema + ", has no row for: " + missing);
    }

    /** Every key path under {@code node}; the elements of an array share the path {@code name[]}. */
    private static void collect(JsonNode node, String path, Set<String> out) {
        if (node.isObject()) {
            node.properties().forEach(e -> {
                String child = path.isEmpty() ? e.getKey() : path + "." + e.getKey();
                out.add(child);
                collect(e.getValue(), child, out);
            });
        } else if (node.isArray()) {
            node.forEach(element -> collect(element, path + "[]", out));
        }
    }

    /** The backticked paths of the first cells of the table rows in the section whose heading names the schema. */
    private static List<Pattern> documentedPaths(String schema) throws Exception {
        List<Pattern> paths = new ArrayList<>();
        boolean inSection = false;
        for (String line : Files.readAllLines(doc())) {
            if (line.startsWith("## ")) {
                inSection = line.contains("`" + schema + "`");
            } else if (inSection && line.startsWith("| ")) {
                Matcher m = BACKTICKED.matcher(line.substring(2, line.indexOf(" |", 1)));
                while (m.find()) {
                    paths.add(pathPattern(m.group(1)));
                }
            }
        }
        assertFalse(paths.isEmpty(), "docs/reports.md has no section '## ... `" + schema + "`' with a field table");
        return paths;
    }

    /** {@code a[].b.OP} → a regex: the path itself, a segment in capitals matching any key. */
    private static Pattern pathPattern(String documented) {
        List<String> parts = new ArrayList<>();
        for (String segment : documented.split("\\.", -1)) {
            parts.add(segment.matches("[A-Z][A-Z_]*") ? ".+" : Pattern.quote(segment));
        }
        return Pattern.compile(String.join("\\.", parts));
    }

    private static Path doc() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("docs/reports.md"))) {
                return p.resolve("docs/reports.md");
            }
        }
        throw new AssertionError("no docs/reports.md above " + Path.of("").toAbsolutePath());
    }
}
