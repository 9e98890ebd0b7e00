package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.slimnx.reference.ReferenceModels;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The reference commands on the committed manifest, as a user runs them from a checkout. */
class ReferenceCommandTest {
    @Test
    void listShowsEveryManifestModel() throws Exception {
        CliRun r = CliRun.of("reference", "list");
        assertEquals(0, r.exitCode(), r.err());
        for (var m : ReferenceModels.locate().all()) {
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(m.name() + " ")), r.out());
        }
    }

    @Test
    void pathPointsAtTheModelFile() throws Exception {
        CliRun r = CliRun.of("reference", "path", "vit");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(Files.isRegularFile(Path.of(r.out().strip())), r.out());
        CliRun unknown = CliRun.of("reference", "path", "resnet");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("no reference model 'resnet'; known: vit"), unknown.err());
    }

    @Test
    void evalOfVitMatchesTheManifestWithinATenthOfAPoint() throws Exception {
        CliRun r = CliRun.of("reference", "eval", "vit");
        assertEquals(0, r.exitCode(), r.err());
        Matcher m = Pattern.compile("top1\\s+([0-9.]+)\\s+([0-9.]+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        double measured = Double.parseDouble(m.group(1));
        double manifest = ReferenceModels.locate().get("vit").metrics().get("top1").onnxruntime();
        assertEquals(manifest, measured, 0.001, "within 0.1 point");
        assertEquals(manifest, Double.parseDouble(m.group(2)), 1e-4);
    }
}
