package dev.slimnx.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class BenchPruneCommandTest {
    @Test
    void aSmallRunPrintsTheRowAndTheVerdicts() {
        CliRun r = CliRun.of("bench", "prune", "--models", "vit", "--limit", "500", "--seeds", "2",
                "--finetune-steps", "3");
        assertEquals(0, r.exitCode(), r.err() + r.out());
        Matcher row = Pattern.compile("\\| vit \\| 4 → 2 \\| 305,055 → ([0-9,]+) \\| [0-9,]+ → [0-9,]+ \\| top1 \\|"
                + " ([0-9.]+) \\| ([0-9.]+) \\([-+0-9.]+\\) \\|.*\\| 3 steps \\(0\\.04 epoch\\), 0\\.5·cross-entropy"
                + " \\+ 0\\.5·KL\\(T=2\\)").matcher(r.out());
        assertTrue(row.find(), r.out());
        long after = Long.parseLong(row.group(1).replace(",", ""));
        assertTrue(after < 305_055 * 0.7, "half the FFN units are a third of the ViT's weights: " + after);
        assertTrue(Double.parseDouble(row.group(2)) > 0.8, "the original ViT on 500 test images: " + row.group(2));
        for (String bar : new String[] {"Taylor beats random on every model", "Taylor >= magnitude on >= 1 of 1",
            "after <= 1 epoch of distillation fine-tune within 1 point of the original"}) {
            assertTrue(r.out().contains("- " + bar), bar + " in\n" + r.out());
        }
    }

    @Test
    void anUnknownModelIsAOneLineError() {
        CliRun r = CliRun.of("bench", "prune", "--models", "resnet");
        assertEquals(2, r.exitCode(), r.out());
        assertTrue(r.err().contains("vit, deepvit"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
    }
}
