package dev.slimnx.graph.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.slimnx.graph.Model;
import dev.slimnx.graph.io.proto.OnnxProto.ModelProto;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Every model of ONNX's backend test data (Debian's libonnx-testdata) survives load → save, and
 * load → copy → save, with a re-parsed message equal to the original. The ONNX Runtime half of the
 * conformance suite lives in the runtime module.
 */
class BackendTestDataRoundTripTest {
    static final Path TEST_DATA = Path.of("/usr/share/libonnx-testdata/data");

    @Test
    void everyBackendTestModelRoundTrips() throws Exception {
        assumeTrue(Files.isDirectory(TEST_DATA), "libonnx-testdata is not installed");
        List<Path> models;
        try (Stream<Path> s = Files.walk(TEST_DATA)) {
            models = s.filter(p -> p.getFileName().toString().endsWith(".onnx")).sorted().toList();
        }
        List<String> failures = new ArrayList<>();
        for (Path p : models) {
            try {
                ModelProto original = ModelProto.parseFrom(Files.readAllBytes(p));
                Model m = OnnxReader.read(p);
                if (!original.equals(ModelProto.parseFrom(OnnxWriter.toBytes(m)))) {
                    failures.add(p + ": the round trip differs");
                }
                if (!original.equals(ModelProto.parseFrom(OnnxWriter.toBytes(m.copy())))) {
                    failures.add(p + ": the copy differs");
                }
            } catch (Exception e) {
                failures.add(p + ": " + e);
            }
        }
        assertEquals(List.of(), failures, failures.size() + " of " + models.size() + " models failed");
        assertEquals(true, models.size() > 1000, "expected the full backend test set, found " + models.size());
    }
}
