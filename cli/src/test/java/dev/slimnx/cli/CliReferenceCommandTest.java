package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliReferenceCommandTest {
    /** The committed page, seen from the cli module, where Maven runs these tests. */
    private static final Path PAGE = Path.of("..", "docs", "cli.md");

    @Test
    void committedReferenceMatchesTheCommands() throws IOException {
        String fresh = CliReferenceCommand.render(SlimnxCommand.commandLine());
        assertEquals(fresh, Files.readString(PAGE),
                "docs/cli.md is stale: regenerate it with ./slimnx cli-reference -o docs/cli.md");
    }

    @Test
    void everyVisibleCommandHasASectionAndHiddenOnesNone() {
        String page = CliReferenceCommand.render(SlimnxCommand.commandLine());
        for (String command : new String[] {"inspect", "convert", "optimize", "quantize", "prune", "finetune",
                "validate", "reference list", "reference path", "reference eval", "export", "run", "demo"}) {
            assertTrue(page.contains("\n## slimnx " + command + "\n"), command);
            assertTrue(page.contains("(#slimnx-" + command.replace(' ', '-') + ")"), command + " in the table");
        }
        assertTrue(page.contains("--ffn-ratio=R"), "options come from the definitions");
        assertFalse(page.contains("## slimnx bench"));
        assertFalse(page.contains("build-manifest"));
        assertFalse(page.contains("## slimnx cli-reference"));
        assertFalse(page.contains("## slimnx help"));
    }

    @Test
    void writesThePageToAFile(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("cli.md");
        CliRun run = CliRun.of("cli-reference", "-o", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(CliReferenceCommand.render(SlimnxCommand.commandLine()), Files.readString(out));
    }
}
