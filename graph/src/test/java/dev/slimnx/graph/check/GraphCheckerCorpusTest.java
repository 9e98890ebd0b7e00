package dev.slimnx.graph.check;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.TestModels;
import dev.slimnx.graph.io.OnnxReader;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every model of libonnx-testdata that the reader accepts must check without errors. */
class GraphCheckerCorpusTest {
    @Test
    void everyReadableTestModelChecksClean() {
        assumeTrue(TestModels.available(), "libonnx-testdata is not installed");
        List<Path> models = TestModels.models("");
        List<String> failures = new ArrayList<>();
        int read = 0;
        int warnings = 0;
        for (Path p : models) {
            Model m;
            try {
                m = OnnxReader.read(p);
            } catch (Exception e) {
                continue; // the reader's own tests cover what it refuses
            }
            read++;
            for (Issue issue : GraphChecker.check(m)) {
                if (issue.isError()) {
                    failures.add(TestModels.ROOT.relativize(p) + ": " + issue);
                } else {
                    warnings++;
                }
            }
        }
        System.out.println("checked " + read + " of " + models.size() + " models, " + warnings + " warnings, "
                + failures.size() + " errors");
        failures.stream().limit(60).forEach(System.out::println);
        assertTrue(read > 1000, "expected the corpus to be readable, read " + read);
        assertEquals(List.of(), failures);
    }
}
